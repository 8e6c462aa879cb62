"""EarlyStopping: stop ``fit`` when a monitored metric stops improving (Keras 3 rules)."""

from __future__ import annotations

import warnings
from typing import Any

from gpukeras.callbacks._monitor import MonitorCallback
from gpukeras.callbacks._progbar_logger import print_line


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    The algorithm is Keras 3's, quirks included: the patience counter grows
    before the comparison, so ``patience=0`` and ``patience=1`` both stop at
    the first epoch (after epoch 0) that does not improve; an improvement that
    fails to beat ``baseline`` keeps the counter running; with
    ``restore_best_weights`` the best weights are restored at the end of
    training whether or not training stopped early.

    Args:
        monitor: Logs key to watch; default ``'val_loss'``.
        min_delta: Smallest change counted as an improvement; default ``0``.
        patience: Epochs without improvement before stopping; default ``0``.
        verbose: ``0`` silent, ``1`` prints when it stops or restores; default ``0``.
        mode: ``'auto'``, ``'min'`` or ``'max'``; default ``'auto'``.
        baseline: Value the metric must beat to reset the patience counter;
            default ``None``.
        restore_best_weights: Put back the weights of the best epoch at the
            end of training; default ``False``.
        start_from_epoch: Epochs to ignore before monitoring starts; default ``0``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: list[Any] | None = None
        self.best_epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Fresh state each fit, so one instance can serve several fits.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Nothing stored yet: the current weights are the best so far.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Restart the count only when the value also beats the baseline.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_line(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_line(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: dict[str, Any] | None) -> Any:
        """``logs[monitor]``, or ``None`` with a warning listing the available keys."""
        logs = logs if logs is not None else {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(list(logs.keys()))}",
                stacklevel=2,
            )
        return value
