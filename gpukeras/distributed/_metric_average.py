"""MetricAverage: every rank's epoch logs become the average over all ranks."""

from __future__ import annotations

import numbers
from typing import Any

import numpy

from gpukeras.callbacks._callback import Callback
from gpukeras.distributed import _context


class MetricAverage(Callback):
    """Average the numeric epoch logs across ranks, in place, at the end of each epoch.

    Horovod's ``MetricAverageCallback``. In data-parallel ``fit`` each rank's
    training loss and metrics cover only its own rows; after this callback
    every rank holds their mean (which, with equal rows per rank, is the
    value one process would log). All values go in ONE allreduce of a packed
    vector, in sorted key order so every rank reduces the same sequence; the
    first epoch checks that all ranks have the same keys. A vector value (a metric per
    class, such as ``F1Score()``) is averaged element by element.

    Put it first in ``callbacks``, so that callbacks after it (EarlyStopping,
    ModelCheckpoint, CSVLogger, History) see the averages.
    """

    def __init__(self) -> None:
        super().__init__()
        self._checked_keys: list[str] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._checked_keys = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None or _context.size() == 1:
            return
        items = sorted(logs.items())  # one transfer for the whole lazy dict
        keys = [key for key, value in items if _is_number(value) or _is_number_array(value)]
        if keys != self._checked_keys:
            self._check_same_keys(keys)
        parts = [numpy.asarray(logs[key], dtype=numpy.float64) for key in keys]
        packed = numpy.concatenate([part.reshape(-1) for part in parts] or [numpy.zeros(0)])
        _context.communicator().Allreduce(_in_place(), packed)
        packed /= _context.size()
        offset = 0
        for key, part in zip(keys, parts):
            values = packed[offset : offset + part.size]
            logs[key] = float(values[0]) if part.ndim == 0 else values.reshape(part.shape).copy()
            offset += part.size

    def _check_same_keys(self, keys: list[str]) -> None:
        everyone = _context.allgather(keys)
        if any(other != keys for other in everyone):
            listed = "; ".join(f"rank {r}: {k}" for r, k in enumerate(everyone))
            raise ValueError(
                "MetricAverage: the ranks log different metrics, so they cannot be averaged "
                f"key by key. Received: {listed}"
            )
        self._checked_keys = keys


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_number_array(value: Any) -> bool:
    return isinstance(value, numpy.ndarray) and value.dtype.kind in "biuf"


def _in_place() -> Any:
    from mpi4py import MPI

    return MPI.IN_PLACE
