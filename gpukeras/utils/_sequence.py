"""Sequence: a dataset that hands ``fit``, ``evaluate`` and ``predict`` one batch at a time."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any


class Sequence:
    """Base class for datasets that produce their batches on demand (Keras's ``PyDataset``).

    Subclass it and implement ``__len__`` (the number of batches) and
    ``__getitem__(index)``, which returns one batch as ``(x, y)`` or
    ``(x, y, sample_weight)`` (``x`` alone, or ``(x,)``, is enough for
    ``predict``). Pass an instance as ``x`` to ``fit``, ``evaluate`` or
    ``predict`` (with ``y=None``), or as ``validation_data``. Each batch is
    checked and moved to the device when it is asked for, so the whole
    dataset never has to fit in memory.

    ``fit(shuffle=True)`` (the default) visits the batches of each epoch in a
    new random order drawn from the seeded host stream
    (``gpukeras.utils.set_random_seed``). ``on_epoch_begin`` and
    ``on_epoch_end`` are called around every pass over the data: each training
    epoch, each validation and each ``evaluate``/``predict`` call. An infinite
    dataset overrides ``num_batches`` to return ``None``; ``fit`` then needs
    ``steps_per_epoch`` (and ``evaluate``/``predict`` need ``steps``).

    Example:
        ```python
        class Batches(gpukeras.utils.Sequence):
            def __init__(self, x, y, batch_size):
                super().__init__()
                self.x, self.y, self.batch_size = x, y, batch_size

            def __len__(self):
                return -(-len(self.x) // self.batch_size)

            def __getitem__(self, index):
                rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
                return self.x[rows], self.y[rows]
        ```

    Args:
        workers: Accepted for Keras compatibility; default ``1``. Batches are
            always produced in the training thread, one at a time.
        use_multiprocessing: Accepted for Keras compatibility; default ``False``.
        max_queue_size: Accepted for Keras compatibility; default ``10``.
    """

    def __init__(
        self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10
    ) -> None:
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        """The batch at position ``index``: ``(x, y)``, ``(x, y, sample_weight)`` or ``x``."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement __getitem__(index) returning one batch"
        )

    def __len__(self) -> int:
        """The number of batches in one pass over the data."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__() (the number of batches), "
            "or override num_batches to return None for an infinite dataset"
        )

    @property
    def num_batches(self) -> int | None:
        """Batches per pass: ``len(self)``, or ``None`` for an infinite dataset."""
        return len(self)

    def on_epoch_begin(self) -> None:
        """Called before every pass over the data; does nothing unless overridden."""

    def on_epoch_end(self) -> None:
        """Called after every pass over the data; does nothing unless overridden."""

    def __iter__(self) -> Iterator[Any]:
        """The batches in order (forever when ``num_batches`` is ``None``)."""
        count = self.num_batches
        positions = itertools.count() if count is None else range(count)
        for index in positions:
            yield self[index]
