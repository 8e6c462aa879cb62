"""TerminateOnNaN: stop training at the first batch whose loss is NaN or infinite."""

from __future__ import annotations

import math
from typing import Any

from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._progbar_logger import print_line


class TerminateOnNaN(Callback):
    """Stop ``fit`` when a batch's loss is NaN or infinite (Keras 3).

    Cost: the loss must be read after every batch, so this callback makes one
    device-to-host transfer per training batch (the rest of the fit loop keeps
    batch values on the device). In data-parallel ``fit`` a NaN on one rank's
    shard stops every rank after the same batch (``gpukeras.distributed``).

    Args:
        raise_error: ``False`` prints ``Batch {b}: Invalid loss, terminating
            training`` and sets ``model.stop_training`` (the epoch still ends and
            ``on_train_end`` runs); ``True`` raises ``RuntimeError`` at once;
            default ``False``.
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = bool(raise_error)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. "
                f"Loss value: {loss}. Terminating training immediately."
            )
        print_line(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
