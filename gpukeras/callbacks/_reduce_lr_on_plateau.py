"""ReduceLROnPlateau: lower the learning rate when a monitored metric stalls (Keras 3 rules)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy

from gpukeras.callbacks._checks import check_non_negative_int, check_real
from gpukeras.callbacks._learning_rates import learning_rate_logs, optimizers_with_rates
from gpukeras.callbacks._monitor import MonitorCallback
from gpukeras.callbacks._progbar_logger import print_line


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    Keras 3's algorithm: at every epoch end the optimizer's current rate is
    written to ``logs['learning_rate']``. During a cooldown the counter drops
    by one and the wait is reset. An improvement (by more than ``min_delta``)
    records the new best and resets the wait; otherwise, outside a cooldown,
    the wait grows and on reaching ``patience`` the rate becomes
    ``max(lr * factor, min_lr)`` (only while ``lr > min_lr``), a cooldown of
    ``cooldown`` epochs starts and the wait resets. State is reset at the
    start of every ``fit``.

    Reads one value of the epoch logs per epoch (one host transfer for the
    whole dict, shared with the other callbacks); never reads batch logs.

    Args:
        monitor: Logs key to watch; default ``'val_loss'``.
        factor: Multiplier of the learning rate, ``0 <= factor < 1``; default ``0.1``.
        patience: Epochs without improvement before reducing, an int >= 0; default ``10``.
        verbose: ``0`` silent, ``1`` prints each reduction; default ``0``.
        mode: ``'auto'``, ``'min'`` or ``'max'``; default ``'auto'`` (an unknown
            string warns and falls back to ``'auto'``).
        min_delta: Smallest change counted as an improvement; default ``1e-4``.
        cooldown: Epochs to wait after a reduction before counting again, an
            int >= 0; default ``0``.
        min_lr: Lower bound of the learning rate, >= 0; default ``0.0``.
        **kwargs: Accepted and ignored, as Keras does (Keras 2's ``epsilon``
            is taken as ``min_delta`` with a warning).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if "epsilon" in kwargs:
            warnings.warn(
                "`epsilon` argument is deprecated and will be removed, use `min_delta` instead.",
                stacklevel=2,
            )
            min_delta = kwargs.pop("epsilon")
        super().__init__(monitor, mode, min_delta=check_real(min_delta, "min_delta"))
        factor = check_real(factor, "factor")
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received: factor={factor}"
            )
        if factor < 0.0:
            raise ValueError(
                f"ReduceLROnPlateau needs a factor >= 0 (the new rate is lr * factor). "
                f"Received: factor={factor}"
            )
        min_lr = check_real(min_lr, "min_lr")
        if min_lr < 0.0:
            raise ValueError(f"`min_lr` must be >= 0. Received: min_lr={min_lr}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = check_non_negative_int(patience, "patience")
        self.verbose = verbose
        self.cooldown = check_non_negative_int(cooldown, "cooldown")
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        """Whether a reduction happened less than ``cooldown`` epochs ago."""
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()  # late, so that the model's metrics exist
        logs = logs if logs is not None else {}
        logs.update(learning_rate_logs(self.model.optimizer))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(list(logs.keys()))}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce_lr(self, epoch: int) -> bool:
        """Lower the rate (each sub-optimizer's for a MultiOptimizer); False when every one
        already sits at ``min_lr``."""
        rates = optimizers_with_rates(self.model.optimizer)
        return any([self._reduce_one(inner, epoch) for inner, _ in rates])

    def _reduce_one(self, optimizer: Any, epoch: int) -> bool:
        old_lr = float(optimizer.learning_rate)
        # Keras compares against min_lr as float32, the precision the rate is stored in.
        if old_lr <= float(numpy.float32(self.min_lr)):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print_line(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True
