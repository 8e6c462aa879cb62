"""EpochProgress: how far ``fit`` is into an epoch, so that a run can resume there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class EpochProgress:
    """The state of the epoch in progress that is not in the model or the random streams.

    ``fit`` keeps the current one in ``model._epoch_progress``;
    ``BackupAndRestore`` saves it and, in ``on_train_begin``, puts a restored
    one in ``model._resume_from``, which ``fit`` starts from.

    Args:
        epoch: The epoch (0-based). Required.
        order: This epoch's shuffle order (a device index array); default
            ``None`` (no shuffling).
        batches_done: Batches of this epoch already trained; default ``0``
            (resuming then starts the epoch afresh and draws its order).
        total: Their summed step statistics (a device vector); default ``None``.
        seen: Samples in those batches; default ``0``.
        first_batch: Where in its pass of the data this epoch starts; default ``0``. With
            ``steps_per_epoch`` below a pass, epochs take consecutive batches of one shuffled
            pass (``order``), as Keras 3 does, and a new pass starts once one is used up.
    """

    epoch: int
    order: Any = None
    batches_done: int = 0
    total: Any = None
    seen: int = 0
    first_batch: int = 0
