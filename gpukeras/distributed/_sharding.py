"""DataSharding: which rows of each global batch a rank trains on, in data-parallel ``fit``.

Every rank passes the whole training set to ``fit``. With ``size`` ranks and
``batch_size=b`` per rank, a step covers a global batch of ``B = b * size``
consecutive rows of the epoch's order, and rank ``r`` takes rows
``[r * b, (r + 1) * b)`` of it. So ``size`` ranks with batch ``b`` see, step
for step, the rows one process with batch ``B`` sees, and since their averaged
gradient is that process's gradient, the weights agree.

A last, partial global batch of ``m < B`` rows is split as evenly as possible
(rank ``r`` gets rows ``[m * r // size, m * (r + 1) // size)``) and each rank's
gradient is weighted by its rows (``DistributedOptimizer.local_share``), which
again equals one process's step on those ``m`` rows. A tail of fewer rows than
ranks (``m < size``) would leave a rank without data; it is skipped.

With ``shuffle=True`` each epoch's order is a permutation drawn from a seed
rank 0 chooses when ``fit`` starts and broadcasts, keyed by the epoch, so all
ranks agree on it without drawing from (or disturbing) their own streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.distributed import _context
from gpukeras.distributed._distributed_optimizer import DistributedOptimizer


class DataSharding:
    """How ``fit`` splits global batches among ranks (see the module docstring).

    Args:
        rank: This rank. Required.
        size: The number of ranks. Required.
        seed: The shuffle seed every rank shares. Required.
        optimizer: The ``DistributedOptimizer`` whose ``local_share`` each step
            sets; default ``None`` (set nothing).
    """

    def __init__(self, rank: int, size: int, seed: int, optimizer: Any = None) -> None:
        self.rank = int(rank)
        self.size = int(size)
        self.seed = int(seed)
        self.optimizer = optimizer

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    def global_batches(self, samples: int, batch_size: int) -> int:
        """Global batches in one pass over ``samples`` rows (a too-small tail is skipped)."""
        full, tail = divmod(samples, batch_size * self.size)
        return full + (1 if tail >= self.size else 0)

    def steps(self, samples: int, batch_size: int) -> int:
        """Steps in one pass over ``samples`` rows (``fit``'s default ``steps_per_epoch``)."""
        per_pass = self.global_batches(samples, batch_size)
        if per_pass == 0:
            raise ValueError(
                f"Data-parallel fit over {self.size} ranks needs at least {self.size} training "
                f"samples (one per rank). Received: {samples} samples"
            )
        return per_pass

    def order(self, samples: int, epoch: int) -> Any:
        """This epoch's shuffled order (the same on every rank), on the device."""
        generator = numpy.random.default_rng([self.seed, int(epoch)])
        return K.to_device(generator.permutation(samples))

    def rows(self, samples: int, batch_size: int, step: int) -> tuple[int, int, float]:
        """``(start, stop, share)``: this rank's rows of global batch ``step`` and its share."""
        per_pass = self.global_batches(samples, batch_size)
        global_batch = batch_size * self.size
        start = (step % per_pass) * global_batch
        rows = min(global_batch, samples - start)
        low = start + rows * self.rank // self.size
        high = start + rows * (self.rank + 1) // self.size
        if rows == global_batch:  # the exact rule for full batches (no rounding involved)
            low, high = start + self.rank * batch_size, start + (self.rank + 1) * batch_size
        return low, high, (high - low) / rows

    def batch_indices(
        self, samples: int, batch_size: int, steps: int, order: Any, first: int = 0
    ) -> Iterator[Any]:
        """Yield this rank's rows for each step from global batch ``first`` of the pass on:
        slices in order, or chunks of ``order``.

        Before yielding a step's rows it sets the optimizer's ``local_share``; when the
        epoch ends, however it ends, the optimizer goes back to plain averaging.
        """
        try:
            for step in range(first, first + steps):
                low, high, share = self.rows(samples, batch_size, step)
                if self.optimizer is not None:
                    self.optimizer.local_share = share
                yield slice(low, high) if order is None else order[low:high]
        finally:
            if self.optimizer is not None:
                self.optimizer.local_share = None


def fit_sharding(model: Any, data: Any, batch_size: int) -> DataSharding | None:
    """The sharding for this ``fit``, or ``None`` when it is not data-parallel.

    ``fit`` is data-parallel when the model's optimizer is a
    :class:`DistributedOptimizer` and there is more than one rank. This is
    collective: every rank agrees on the shuffle seed (rank 0's) and checks
    that all ranks have the same model and data shapes, raising a ValueError
    that names the ranks and shapes otherwise.
    """
    optimizer = getattr(model, "optimizer", None)
    if not isinstance(optimizer, DistributedOptimizer) or _context.size() == 1:
        return None
    own = _signature(model, data, batch_size)
    # Each rank proposes a seed from its host stream (reproducible under set_random_seed);
    # rank 0's wins.
    proposal = int(K.random.host_generator().integers(2**63))
    proposals = _context.allgather((own, proposal))
    signatures = [signature for signature, _ in proposals]
    if any(signature != signatures[0] for signature in signatures):
        listed = "; ".join(f"rank {r}: {_describe(s)}" for r, s in enumerate(signatures))
        raise ValueError(
            "Data-parallel fit: the ranks disagree on the model or the data. Every rank must "
            "build the same model and pass the same training data and batch_size to fit(). "
            f"Received: {listed}"
        )
    return DataSharding(_context.rank(), _context.size(), proposals[0][1], optimizer)


def _signature(model: Any, data: Any, batch_size: int) -> dict[str, Any]:
    def shape(array: Any) -> tuple[int, ...] | None:
        return None if array is None else tuple(int(d) for d in array.shape[1:])

    return {
        "weights": [tuple(int(d) for d in w.value.shape) for w in model.weights],
        "x": shape(data.x),
        "y": shape(data.y),
        "samples": int(data.size),
        "batch_size": int(batch_size),
    }


def _describe(signature: dict[str, Any]) -> str:
    return (
        f"weights {signature['weights']}, x rows of shape {signature['x']}, y rows of shape "
        f"{signature['y']}, {signature['samples']} samples, batch_size {signature['batch_size']}"
    )
