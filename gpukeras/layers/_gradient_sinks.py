"""Weight gradients written straight into ``Variable.grad`` by the training step.

A built-in layer on the tape hands back its weight gradients as fresh arrays (see
``layers/_call_state.py``), because the same layer may be called again in the step and
each call's gradient must stay its own. The compiled training step (``TapeStep``) then
copies them into the variables' ``.grad``, where the optimizer reads them.

Inside that step most layers are called once. A layer that is the only writer of its
weights' gradients in the step can run its ``backward`` into ``.grad`` itself, as the
fused Sequential step does: no zeroed arrays to fill and no copy afterwards. The step
opens :func:`gradient_sinks`; each built-in node counts the writers of its weights while
it is recorded, and its pullback asks :meth:`GradientSinks.take` when it runs. A weight
written by two nodes (a shared layer, a layer with several outputs) keeps fresh arrays.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_local = threading.local()


class GradientSinks:
    """The writers of each weight's gradient in one training step."""

    __slots__ = ("writers", "open")

    def __init__(self) -> None:
        self.writers: dict[int, int] = {}
        self.open = False  # True only while the step's own backward runs

    def count(self, weights: list[Any], times: int = 1) -> None:
        """Note that a node recorded now will write the gradients of ``weights``."""
        for weight in weights:
            self.writers[id(weight)] = self.writers.get(id(weight), 0) + times

    def take(self, weights: list[Any]) -> bool:
        """Whether a node may write ``weights``' gradients into their ``.grad`` now."""
        return self.open and all(
            self.writers.get(id(w)) == 1 and getattr(w, "grad", None) is not None for w in weights
        )

    @contextlib.contextmanager
    def backward(self) -> Iterator[None]:
        """The step's backward pass (a tape opened inside ``call()`` gets fresh arrays)."""
        self.open = True
        try:
            yield
        finally:
            self.open = False


@contextlib.contextmanager
def gradient_sinks() -> Iterator[GradientSinks]:
    """Count weight writers for one training step (see the module doc)."""
    saved = getattr(_local, "sinks", None)
    _local.sinks = GradientSinks()
    try:
        yield _local.sinks
    finally:
        _local.sinks = saved


def current_sinks() -> GradientSinks | None:
    """The training step's :class:`GradientSinks`, or None outside one."""
    return getattr(_local, "sinks", None)
