"""BroadcastGlobalVariables: start every rank from the root rank's weights and optimizer state."""

from __future__ import annotations

from typing import Any

from gpukeras.callbacks._callback import Callback
from gpukeras.distributed import _context


class BroadcastGlobalVariables(Callback):
    """At the start of ``fit``, copy the model's weights and optimizer state from one rank.

    Horovod's ``BroadcastGlobalVariablesCallback``. Ranks that initialised
    their weights differently (no common seed) or restored them from a
    checkpoint only on the root rank start identical. Unlike Horovod it runs
    in ``on_train_begin`` (building the optimizer's slots if needed), so the
    first step already runs from the same weights everywhere. Weights are
    broadcast in place, on the device (NCCL) with CuPy.

    Args:
        root_rank: The rank whose values everyone takes; default ``0``.
    """

    def __init__(self, root_rank: int = 0) -> None:
        super().__init__()
        if isinstance(root_rank, bool) or not isinstance(root_rank, int) or root_rank < 0:
            raise ValueError(
                f"`root_rank` must be a rank number >= 0. Received: root_rank={root_rank!r}"
            )
        self.root_rank = root_rank

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if _context.size() == 1:
            return
        if self.root_rank >= _context.size():
            raise ValueError(
                f"`root_rank` must be below the number of ranks, {_context.size()}. "
                f"Received: root_rank={self.root_rank}"
            )
        broadcast_model(self.model, self.root_rank)


def broadcast_model(model: Any, root_rank: int = 0) -> None:
    """Overwrite ``model``'s weights and its optimizer's state with ``root_rank``'s."""
    collectives = _context.collectives()
    for weight in model.weights:
        collectives.broadcast(weight.value, root_rank)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return
    if not optimizer.built:
        optimizer.build(model.trainable_weights)
    # Slot values are the live arrays; the scalars' (iterations, learning rate) are fresh 0-d
    # copies that set_weights puts back.
    state = [variable.value for variable in optimizer.variables]
    for value in state:
        collectives.broadcast(value, root_rank)
    optimizer.set_weights(state)
