"""The graph: one ``Node`` per recorded op, and the test for "does this input need a gradient"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gpukeras.autodiff import _state
from gpukeras.autodiff._scope import current_scope
from gpukeras.autodiff._tensor import Tensor
from gpukeras.variables import Variable


class Node:
    """How a Tensor was made: its op, its inputs (``None`` where no gradient is needed),
    the inputs' shapes and dtypes (to un-broadcast gradients) and the VJP."""

    __slots__ = ("op", "vjp", "parents", "metas", "scope", "tapes")

    def __init__(
        self,
        op: str,
        vjp: Callable[[Any], Sequence[Any]],
        parents: list[Any],
        metas: list[Any],
        tapes: tuple[Any, ...],
    ) -> None:
        self.op = op
        self.vjp: Callable[[Any], Sequence[Any]] | None = vjp
        self.parents = parents
        self.metas = metas
        self.scope = current_scope()
        self.tapes = tapes

    def free(self) -> None:
        """Drop the VJP (and the arrays it holds) and the links to the inputs."""
        self.vjp = None
        self.parents = []
        self.metas = []


def unwrap(x: Any) -> Any:
    """The raw array of a Tensor or a Variable; anything else as it is."""
    t = type(x)
    if t is Tensor or t is Variable or isinstance(x, (Tensor, Variable)):
        return x.value
    return x


def needs_gradient(x: Any) -> bool:
    """Whether an active tape wants the gradient of ``x`` (a Tensor, a watched Variable or
    array). Call it while recording, e.g. to skip an input gradient nobody needs."""
    if type(x) is Tensor:
        return True
    if isinstance(x, Variable):
        wanted = False
        for tape in _state.active:
            if tape._watches_variable(x):
                wanted = True
        return wanted
    if _state.watched_arrays:
        return any(id(x) in tape._watched for tape in _state.active)
    return False


def note_reads(args: Sequence[Any]) -> None:
    """Remember the Variables a recorded node read: its VJP holds their values, so a
    later ``assign`` must not write into them (see ``Variable.assign``)."""
    for x in args:
        if isinstance(x, Variable):
            for tape in _state.active:
                tape._read[id(x)] = x


def make_node(op: str, vjp: Callable[[Any], Sequence[Any]], inputs: Sequence[Any]) -> Node | None:
    """A node over ``inputs``, or ``None`` when none of them needs a gradient."""
    parents = [x if needs_gradient(x) else None for x in inputs]
    if not any(p is not None for p in parents):
        return None
    note_reads(inputs)
    metas = [None if p is None else _meta(unwrap(p)) for p in parents]
    return Node(op, vjp, parents, metas, tuple(_state.active))


def _meta(value: Any) -> tuple[tuple[int, ...], Any]:
    return (tuple(value.shape), value.dtype)


def record(
    value: Any, inputs: Sequence[Any], vjp: Callable[[Any], Sequence[Any]], name: str
) -> Any:
    """Join the tape as one node: ``value`` was computed from ``inputs`` by the op ``name``.

    ``vjp(grad_value)`` returns one gradient per input (``None`` allowed). Returns a
    Tensor when recording and some input needs a gradient, else ``value`` unchanged.
    """
    if not _state.active or _state.paused:
        return value
    node = make_node(name, vjp, inputs)
    return value if node is None else Tensor(value, node)
