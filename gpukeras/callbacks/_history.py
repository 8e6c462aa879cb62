"""History: records every epoch's logs; ``fit`` returns it."""

from __future__ import annotations

from typing import Any

from gpukeras.callbacks._callback import Callback


class History(Callback):
    """Records the epoch-end logs of ``fit``.

    Attributes:
        history: Metric name -> list of per-epoch values.
        epoch: The 0-based indices of the recorded epochs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self

    def plot(self, path: Any = "history.png", dpi: int = 100) -> str:
        """Draw the loss and metric curves (train and val) into a PNG; returns the path.

        See :func:`gpukeras.utils.plot_history`; needs matplotlib
        (``pip install gpukeras[plot]``).

        Args:
            path: File to write; default ``'history.png'``.
            dpi: Resolution; default ``100``.
        """
        from gpukeras.utils._plot import plot_history

        return plot_history(self, path, dpi=dpi)
