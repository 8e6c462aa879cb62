"""LearningRateWarmup: ramp the learning rate from ``lr / size`` up to ``lr`` (Horovod's)."""

from __future__ import annotations

import math
import numbers
from typing import Any

from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._progbar_logger import print_line
from gpukeras.distributed import _context


class LearningRateWarmup(Callback):
    """Gradual learning-rate warmup for large global batches, adjusted every batch.

    Horovod's ``LearningRateWarmupCallback`` (Goyal et al., "Accurate, Large
    Minibatch SGD"): during the first ``warmup_epochs`` epochs, before batch
    ``b`` of epoch ``e`` the learning rate is

        initial_lr / size * (t * (size - 1) / warmup_epochs + 1),
        t = e + (b + 1) / steps_per_epoch

    so it starts near ``initial_lr / size`` and reaches ``initial_lr`` at the
    end of the warmup; afterwards it is left alone. With one rank it stays at
    ``initial_lr``. With ``momentum_correction``, an optimizer with a
    ``momentum`` (SGD) has it scaled by ``new_lr / old_lr`` for the batch
    where the rate changes, then restored, as Horovod does. The epoch logs
    get ``learning_rate``.

    Args:
        warmup_epochs: Epochs the warmup lasts (> 0); default ``5``.
        initial_lr: The rate reached at the end of the warmup, usually the
            single-process rate times ``size()``; default ``None`` (the
            optimizer's rate when training starts).
        momentum_correction: Scale momentum with the rate during the change;
            default ``True``.
        steps_per_epoch: Batches per epoch; default ``None`` (``fit``'s).
        verbose: ``1`` prints on rank 0 when the warmup ends; default ``0``.
    """

    def __init__(
        self,
        warmup_epochs: float = 5,
        initial_lr: float | None = None,
        momentum_correction: bool = True,
        steps_per_epoch: int | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if not _positive(warmup_epochs):
            raise ValueError(
                f"`warmup_epochs` must be a number > 0. Received: warmup_epochs={warmup_epochs!r}"
            )
        if initial_lr is not None and not (_positive(initial_lr) or initial_lr == 0):
            raise ValueError(
                f"`initial_lr` must be a number >= 0 or None. Received: initial_lr={initial_lr!r}"
            )
        if steps_per_epoch is not None and not (
            isinstance(steps_per_epoch, int) and _positive(steps_per_epoch)
        ):
            raise ValueError(
                "`steps_per_epoch` must be a positive int or None. "
                f"Received: steps_per_epoch={steps_per_epoch!r}"
            )
        self.warmup_epochs = float(warmup_epochs)
        self.initial_lr = None if initial_lr is None else float(initial_lr)
        self.momentum_correction = bool(momentum_correction)
        self.steps_per_epoch = steps_per_epoch
        self.verbose = verbose
        self._epoch = 0
        self._steps = 1
        self._restore_momentum: float | None = None

    def multiplier(self, epoch: int, batch: int) -> float:
        """The factor applied to ``initial_lr`` before ``batch`` of ``epoch``."""
        size = _context.size()
        progress = epoch + (batch + 1) / self._steps
        return (progress * (size - 1) / self.warmup_epochs + 1) / size

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.initial_lr is None:
            self.initial_lr = float(self.model.optimizer.learning_rate)
        self._steps = self.steps_per_epoch or int(self.params.get("steps") or 1)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._epoch >= self.warmup_epochs:
            return
        optimizer = self.model.optimizer
        old_lr = float(optimizer.learning_rate)
        new_lr = self.initial_lr * self.multiplier(self._epoch, batch)
        optimizer.learning_rate = new_lr
        momentum = getattr(optimizer, "momentum", None)
        if self.momentum_correction and momentum and old_lr > 0:
            self._restore_momentum = float(momentum)
            optimizer.momentum = momentum * float(optimizer.learning_rate) / old_lr

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._restore_momentum is not None:
            self.model.optimizer.momentum = self._restore_momentum
            self._restore_momentum = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        learning_rate = float(self.model.optimizer.learning_rate)
        if logs is not None:
            logs["learning_rate"] = learning_rate
        if epoch == math.ceil(self.warmup_epochs) - 1 and self.verbose and _context.is_chief():
            # through the progress printer: ends an open bar line, and goes to the logger
            # after utils.disable_interactive_logging()
            print_line(
                f"Epoch {epoch + 1}: finished gradual learning rate warmup to {learning_rate:g}."
            )


def _positive(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0
