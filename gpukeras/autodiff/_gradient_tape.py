"""``GradientTape``: record the ops of a block, then ask for gradients (TensorFlow's API)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy

from gpukeras.autodiff import _state
from gpukeras.autodiff._backward import backward
from gpukeras.autodiff._node import unwrap
from gpukeras.autodiff._tensor import Tensor
from gpukeras.backend import get_array_module
from gpukeras.variables import Variable

_UNCONNECTED = ("none", "zero")


class GradientTape:
    """Records the ops run inside ``with GradientTape() as tape:`` for ``tape.gradient``.

    Trainable Variables read by an op inside the block are watched automatically
    (unless ``watch_accessed_variables=False``); ``tape.watch(x)`` adds others. A
    non-persistent tape answers one ``gradient`` call and then frees its graph.
    Gradients are first order: the backward pass itself is not recorded.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._persistent = bool(persistent)
        self._auto = bool(watch_accessed_variables)
        self._watched: dict[int, Any] = {}
        self._accessed: dict[int, Variable] = {}
        self._read: dict[int, Variable] = {}
        self._recording = False
        self._spent = False

    def __enter__(self) -> GradientTape:
        if self._recording:
            raise RuntimeError("This GradientTape is already recording; nest a new one instead.")
        self._recording = True
        _state.active.append(self)
        _state.watched_arrays += self._array_count()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._recording = False
        _state.active.remove(self)
        _state.watched_arrays -= self._array_count()
        self._read.clear()

    def _array_count(self) -> int:
        return sum(1 for x in self._watched.values() if not isinstance(x, (Variable, Tensor)))

    def _watches_variable(self, variable: Variable) -> bool:
        if self._auto and variable.trainable:
            self._accessed[id(variable)] = variable
            return True
        return id(variable) in self._watched

    def watch(self, tensor: Any) -> None:
        """Watch a Variable, Tensor or array (or a nested list of them) on this tape."""
        for x in _flatten(tensor):
            if id(x) not in self._watched:
                self._watched[id(x)] = x
                if self._recording and not isinstance(x, (Variable, Tensor)):
                    _state.watched_arrays += 1

    @contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Run a block without recording (TensorFlow's API): its ops return plain arrays."""
        _state.paused.append(True)
        try:
            yield
        finally:
            _state.paused.pop()

    def watched_variables(self) -> list[Variable]:
        """The Variables this tape watches, in first-use order."""
        explicit = [x for x in self._watched.values() if isinstance(x, Variable)]
        seen = {id(v) for v in explicit}
        return explicit + [v for k, v in self._accessed.items() if k not in seen]

    def reset(self) -> None:
        """Forget what was recorded so far (the tape keeps recording)."""
        if self._recording:
            _state.watched_arrays -= self._array_count()
        self._watched.clear()
        self._accessed.clear()
        self._read.clear()
        self._spent = False

    def gradient(
        self,
        target: Any,
        sources: Any,
        output_gradients: Any = None,
        unconnected_gradients: str = "none",
    ) -> Any:
        """d(sum of ``target``)/d``sources``, shaped like ``sources`` (a leaf or nested lists).

        ``output_gradients`` seeds the backward pass (a loss scale, say); a source the
        target does not depend on gets ``None`` (or zeros with
        ``unconnected_gradients='zero'``).
        """
        found = self._gradient_arrays(target, sources, output_gradients, unconnected_gradients)
        return _unflatten(sources, iter(_owned(found)))

    def _gradient_arrays(
        self,
        target: Any,
        sources: Any,
        output_gradients: Any = None,
        unconnected_gradients: str = "none",
    ) -> list[Any]:
        """:meth:`gradient` as a flat list, each array as the backward pass left it.

        For the training step, which only reads them: an array may be a view, appear
        twice, or be a weight's own ``.grad`` (``layers/_gradient_sinks.py``).
        """
        if unconnected_gradients not in _UNCONNECTED:
            raise ValueError(
                f"unconnected_gradients must be 'none' or 'zero'. "
                f"Received: unconnected_gradients={unconnected_gradients!r}"
            )
        if self._spent and not self._persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can compute one set of gradients; "
                "use GradientTape(persistent=True) to call gradient() more than once."
            )
        self._spent = True
        leaves = _flatten(sources)
        keep = {id(x) for x in leaves}
        grads = self._grads(target, output_gradients, keep)
        return [_connected(grads.get(id(x)), x, unconnected_gradients) for x in leaves]

    def _grads(self, target: Any, output_gradients: Any, keep: set[int]) -> dict[int, Any]:
        targets = _flatten(target)
        seeds = _flatten(output_gradients) if output_gradients is not None else None
        total: dict[int, Any] = {}
        for i, t in enumerate(targets):
            if not isinstance(t, Tensor):
                continue  # a plain array: nothing recorded reaches it
            seed = _seed(t, None if seeds is None else seeds[i])
            grads, visited = backward(t, seed, keep)
            if not self._persistent:
                _free(visited)
            for key in keep:
                if key in grads:
                    total[key] = grads[key] if key not in total else total[key] + grads[key]
        return total


def _seed(target: Tensor, given: Any) -> Any:
    xp = get_array_module(target.value)
    if given is None:
        return xp.ones_like(target.value)
    return xp.broadcast_to(xp.asarray(unwrap(given), dtype=target.value.dtype), target.value.shape)


def _free(nodes: list[Any]) -> None:
    """Free nodes that no still-usable tape recorded (the step's memory, released now)."""
    for node in nodes:
        if all(t._spent and not t._persistent for t in node.tapes):
            node.free()


def _owned(grads: list[Any]) -> list[Any]:
    """Each gradient its own writable array: VJPs may return views or one array twice
    (``add`` passes ``g`` to both inputs), and callers update gradients in place."""
    seen: set[int] = set()
    out = []
    for g in grads:
        if isinstance(g, numpy.generic):
            g = numpy.array(g)  # NumPy maths on 0-d arrays gives scalars: hand back arrays
        elif g is not None and (g.base is not None or id(g) in seen):
            g = g.copy()
        if g is not None:
            seen.add(id(g))
        out.append(g)
    return out


def _connected(grad: Any, source: Any, mode: str) -> Any:
    if grad is not None or mode == "none":
        return grad
    value = unwrap(source)
    return get_array_module(value).zeros_like(value)


def _flatten(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _flatten(item)]
    if isinstance(x, dict):
        return [leaf for key in x for leaf in _flatten(x[key])]
    return [x]


def _unflatten(structure: Any, leaves: Any) -> Any:
    if isinstance(structure, (list, tuple)):
        return type(structure)(_unflatten(item, leaves) for item in structure)
    if isinstance(structure, dict):
        return {key: _unflatten(structure[key], leaves) for key in structure}
    return next(leaves)
