"""LearningRateScheduler: set the learning rate from a function of the epoch (Keras 3)."""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._learning_rates import learning_rate_logs
from gpukeras.callbacks._progbar_logger import print_line


def _takes_two_arguments(schedule: Callable[..., Any]) -> bool | None:
    """Whether ``schedule`` accepts ``(epoch, lr)``; ``None`` when its signature is hidden."""
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(0, 0.0)
    except TypeError:
        return False
    return True


def _as_learning_rate(value: Any) -> float | None:
    """``value`` as a float if it is a finite real >= 0 (a 0-d array counts), else None."""
    if K.is_device_array(value) and getattr(value, "ndim", None) == 0:
        value = K.to_host(value)
    if isinstance(value, numpy.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch.

    At epoch begin calls ``schedule(epoch, lr)`` with the 0-based epoch and the
    current rate as a Python float; a schedule taking only the epoch is called
    as ``schedule(epoch)`` (Keras's older API). At epoch end the rate in use
    is written to ``logs['learning_rate']``. The optimizer's rate is a host
    float, so this callback makes no device transfer of its own.

    Unlike Keras 3, which refuses anything but a float (even ``1``), any finite
    real number >= 0 is accepted: Python ints and floats, NumPy scalars and
    0-d arrays. An optimizer built with a ``LearningRateSchedule`` object
    cannot have its rate set: that raises the optimizer's TypeError, as Keras does.

    Args:
        schedule: ``schedule(epoch, lr) -> new_lr`` or ``schedule(epoch) -> new_lr``. Required.
        verbose: ``0`` silent, ``1`` prints the rate set each epoch; default ``0``.
    """

    def __init__(self, schedule: Callable[..., Any], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "`schedule` must be a function of (epoch, lr) or of (epoch). "
                f"Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.verbose = verbose

    def _scheduled(self, epoch: int, current_lr: float) -> Any:
        two_arguments = _takes_two_arguments(self.schedule)
        if two_arguments is None:
            # No signature to read (some builtins): Keras's try-then-fall-back.
            try:
                return self.schedule(epoch, current_lr)
            except TypeError:
                return self.schedule(epoch)
        return self.schedule(epoch, current_lr) if two_arguments else self.schedule(epoch)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        optimizer = self.model.optimizer
        if hasattr(optimizer, "optimizers"):  # a MultiOptimizer: each sub-optimizer's own rate
            for inner in optimizer.optimizers:
                self._schedule_rate(inner, epoch, f"{inner.name} learning rate")
        else:
            self._schedule_rate(optimizer, epoch, "learning rate")

    def _schedule_rate(self, optimizer: Any, epoch: int, what: str) -> None:
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        result = self._scheduled(epoch, float(optimizer.learning_rate))
        learning_rate = _as_learning_rate(result)
        if learning_rate is None:
            raise ValueError(
                "The output of the `schedule` function should be a float >= 0 "
                f"(a finite number). Received: schedule({epoch}, ...)={result!r} "
                f"({type(result).__name__}) from schedule={self.schedule!r}"
            )
        optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            print_line(
                f"Epoch {epoch + 1}: LearningRateScheduler setting {what} to {learning_rate}."
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs.update(learning_rate_logs(self.model.optimizer))
