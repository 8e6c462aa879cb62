"""TrainingAgreement: the ranks of a data-parallel ``fit`` take each decision at the same step.

Data-parallel ranks meet in one gradient allreduce per step. A rank that stops
(``stop_training`` from a callback, ``TerminateOnNaN`` on its own shard's NaN,
its generator running out) or leaves (an exception, ``sys.exit``) while the
others enter the next allreduce would leave them waiting forever. So:

- decisions are agreed with one small host collective of flags, only where
  ``fit`` already reads logs: when each epoch begins and ends, and after each
  batch only when a callback has batch hooks that may stop training
  (TerminateOnNaN reads every batch's loss anyway).
  A stop asked for by any rank stops every rank after the same batch;
- a generator (an iterator of unknown length) is asked "is there a batch?"
  before each step, so ranks whose generators yield different numbers of
  batches all raise one error naming the ranks and counts;
- when training starts, the ranks compare where they start (a backup's resume
  point), how many epochs and steps they run and how many batches a Sequence
  has, and all raise one error listing each rank's values when they differ;
- an exception that leaves ``fit`` on one rank only (including ``SystemExit``)
  aborts the whole job (``MPI_Abort``), after a line naming the rank
  (``_early_exit``).

Errors raised on every rank together are marked and pass through as ordinary
exceptions: every rank is at the same point, so a script may catch them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy

from gpukeras.distributed import _context
from gpukeras.distributed._distributed_optimizer import DistributedOptimizer

_EVERY_RANK = "_gpukeras_raised_on_every_rank"


class TrainingAgreement:
    """The decisions of one data-parallel ``fit``, agreed across ranks (module docstring).

    Args:
        model: The model being trained; its ``stop_training`` is agreed. Required.
        stream: The training data when it is a ``BatchStream``; default ``None`` (arrays).
    """

    def __init__(self, model: Any, stream: Any = None) -> None:
        self.model = model
        self.stream = stream
        self.rank = _context.rank()
        self.size = _context.size()
        # Whether stop_training is agreed after every batch: when any rank has a callback
        # whose batch hooks may set it. Fixed by check_start, so all ranks do the same.
        self.per_batch = False

    # -- when training starts ------------------------------------------------------
    def check_start(
        self, resume: Any, initial_epoch: int, epochs: int, steps: Any, callbacks: Any
    ) -> None:
        """Compare where the ranks start and how long they train; raise on every rank if
        they differ. ``resume`` is the ``EpochProgress`` a backup restored, or ``None``;
        ``callbacks`` this rank's callbacks (do any of them stop training in a batch?)."""
        point = None if resume is None else _resume_point(resume)
        batches = None
        if self.stream is not None and self.stream.is_sequence:
            batches = self.stream.num_batches
        own = {"resume": point, "start": initial_epoch, "epochs": epochs, "steps": steps}
        own["sequence_batches"] = batches
        own["batch_hooks"] = may_stop_in_a_batch(callbacks)
        everyone = _context.allgather(own)
        self.per_batch = any(start["batch_hooks"] for start in everyone)
        _check_same_resume_point(everyone)
        _check_same_length(everyone)

    # -- during training -----------------------------------------------------------
    def batches(self, positions: Iterator[Any], epoch: int) -> Iterator[Any]:
        """``positions``, checked before each step that every rank has a batch (generators
        only: arrays and Sequences have counts known to every rank)."""
        if self.stream is None or self.stream.is_sequence:
            yield from positions
            return
        count = 0
        for position in positions:
            self._check_have_batch(True, count, epoch)
            count += 1
            yield position
        # Closed early (an agreed stop), a generator never gets here: nobody asks again.
        self._check_have_batch(False, count, epoch)

    def stop_at_epoch_begin(self, epoch: int) -> bool:
        """After ``on_epoch_begin`` (and ``on_train_begin``): whether any rank set
        ``stop_training``; then every rank does, and all break after the epoch's first
        batch, as Keras does."""
        wanted = bool(self.model.stop_training)
        flags = self._gather([int(wanted)])
        return self._agree_stop(wanted, flags[:, 0], f"the start of epoch {epoch + 1}")

    def stop_after_batch(self, epoch: int, batch: int) -> bool:
        """After a batch's callbacks: whether any rank set ``stop_training``. If one did,
        every rank's model gets ``stop_training = True`` and all stop after this batch."""
        wanted = bool(self.model.stop_training)
        flags = self._gather([int(wanted)])
        return self._agree_stop(wanted, flags[:, 0], f"batch {batch} of epoch {epoch + 1}")

    def stop_after_epoch(self, epoch: int, stopping: bool) -> bool:
        """After ``on_epoch_end``: whether any rank stops (``stopping``: ``stop_training`` or
        its data ran out); then every rank stops after this epoch."""
        wanted = bool(self.model.stop_training)
        flags = self._gather([int(wanted), int(stopping)])
        stop = self._agree_stop(wanted, flags[:, 0], f"the end of epoch {epoch + 1}")
        return stop or bool(flags[:, 1].any())

    # -- pieces --------------------------------------------------------------------
    def _gather(self, values: list[int]) -> numpy.ndarray:
        """Every rank's ``values`` as one row each: one small host collective."""
        own = numpy.array(values, dtype=numpy.int64)
        everyone = numpy.empty((self.size, own.size), dtype=numpy.int64)
        _context.communicator().Allgather(own, everyone)
        return everyone

    def _agree_stop(self, wanted: bool, flags: numpy.ndarray, where: str) -> bool:
        if not flags.any():
            return False
        if not wanted and self.rank == 0:
            asking = ", ".join(str(r) for r in numpy.flatnonzero(flags))
            _context.say(f"rank(s) {asking} set stop_training at {where}; every rank stops there")
        self.model.stop_training = True
        return True

    def _check_have_batch(self, have: bool, count: int, epoch: int) -> None:
        flags = self._gather([int(have)])[:, 0]
        if flags.all() or not flags.any():
            return
        counts = ", ".join(
            f"rank {r}: {count + 1} or more" if flag else f"rank {r}: {count}"
            for r, flag in enumerate(flags)
        )
        empty = ", ".join(str(r) for r in numpy.flatnonzero(flags == 0))
        raise _on_every_rank(
            ValueError(
                f"Data-parallel fit: the training data of rank(s) {empty} ran out after "
                f"{count} batches of epoch {epoch + 1} while other ranks had more. Every "
                "rank's generator must yield the same number of batches (or pass "
                f"steps_per_epoch). Received: batches in epoch {epoch + 1}: {counts}"
            )
        )


def _check_same_resume_point(everyone: list[dict[str, Any]]) -> None:
    if all(start["resume"] == everyone[0]["resume"] for start in everyone):
        return
    listed = "; ".join(f"rank {r}: {_show_resume(s['resume'])}" for r, s in enumerate(everyone))
    raise _on_every_rank(
        ValueError(
            "Data-parallel fit: the ranks would resume training at different points "
            "(BackupAndRestore read different backups), so they would wait on each other "
            "forever. Every rank must read rank 0's backup: put backup_dir on a file system "
            f"all ranks share. Received: {listed}"
        )
    )


def _check_same_length(everyone: list[dict[str, Any]]) -> None:
    for key, what in (
        ("sequence_batches", "Sequences of different lengths (batches per epoch)"),
        ("epochs", "different `epochs`"),
        ("start", "different `initial_epoch`"),
        ("steps", "different `steps_per_epoch`"),
    ):
        if any(start[key] != everyone[0][key] for start in everyone):
            listed = ", ".join(f"rank {r}: {s[key]}" for r, s in enumerate(everyone))
            raise _on_every_rank(
                ValueError(
                    f"Data-parallel fit: the ranks were given {what}, so they would not take "
                    "the same number of steps and would wait on each other forever. Every "
                    f"rank must train equally long. Received: {key}: {listed}"
                )
            )


def may_stop_in_a_batch(callbacks: Any) -> bool:
    """Whether one of ``callbacks`` has training batch hooks that may set ``stop_training``.

    gpukeras's own callbacks whose batch hooks never stop (the progress bar, checkpoints,
    backups, TensorBoard, the learning-rate warmup) do not count, so that ``verbose=1`` on
    rank 0 adds no collective per batch; a subclass of them counts.
    """
    from gpukeras import callbacks as known
    from gpukeras.callbacks._callback_list import _BATCH_HOOKS, overrides
    from gpukeras.callbacks._progbar_logger import ProgbarLogger
    from gpukeras.distributed._learning_rate_warmup import LearningRateWarmup

    never_stop = {
        ProgbarLogger,
        known.BackupAndRestore,
        known.ModelCheckpoint,
        known.TensorBoard,
        LearningRateWarmup,
    }
    return any(
        type(callback) not in never_stop and overrides(callback, hook)
        for callback in callbacks
        for hook in _BATCH_HOOKS["train"]
    )


def fit_agreement(model: Any, data: Any) -> TrainingAgreement | None:
    """The agreement for a ``fit`` of ``model`` on ``data``, or ``None`` when the fit is
    not data-parallel (no ``DistributedOptimizer``, or one rank)."""
    if not isinstance(getattr(model, "optimizer", None), DistributedOptimizer):
        return None
    if _context.size() == 1:
        return None
    from gpukeras.models._batches import BatchStream  # models imports distributed

    return TrainingAgreement(model, data if isinstance(data, BatchStream) else None)


def raised_on_every_rank(error: BaseException) -> bool:
    """Whether ``error`` was raised by every rank at the same point (see ``_on_every_rank``)."""
    return bool(getattr(error, _EVERY_RANK, False))


def _on_every_rank(error: BaseException) -> BaseException:
    """Mark ``error`` as raised by every rank at the same point (it need not abort)."""
    setattr(error, _EVERY_RANK, True)
    return error


def _resume_point(progress: Any) -> tuple[int, int, int]:
    return (int(progress.epoch), int(progress.batches_done), int(progress.first_batch))


def _show_resume(point: tuple[int, int, int] | None) -> str:
    if point is None:
        return "no backup (starts afresh)"
    epoch, done, first = point
    return f"epoch {epoch + 1} after {done} batches" + (f" (pass batch {first})" if first else "")
