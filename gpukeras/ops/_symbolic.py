"""``gpukeras.ops`` called on KerasTensors: a graph node instead of a computation.

Each public op is wrapped once (:func:`dispatch_symbolic`, run by ``ops/__init__``): when
an argument is a KerasTensor (also inside a list, as ``ops.concatenate([a, b])`` takes
them) the call is recorded as a Node of an :class:`~gpukeras.layers._node.Operation` that
calls the same op again when the graph runs; otherwise the op runs as before (one type
check per argument). The output's shape and dtype come from running the op once on zeros
of the inputs' shapes, twice when an axis is unknown: that is the registry's own forward
and shape checks (including its dtype promotion), so a symbolic result is exactly what the
data will give, and a bad shape fails here, at the line that built the graph.
"""

from __future__ import annotations

import functools
from typing import Any

from gpukeras import backend as K
from gpukeras.layers._keras_tensor import KerasTensor, flatten, map_structure, pack_like

_PROBE_SIZES = (2, 3)
# Functions of gpukeras.ops that read a tensor rather than compute one, or make one from
# nothing: never recorded.
_NOT_RECORDED = frozenset(
    {"convert_to_numpy", "custom_gradient", "dtype", "shape", "ndim", "size", "nn"}
)


def dispatch_symbolic(namespace: dict[str, Any], names: list[str], *modules: Any) -> None:
    """Replace each op ``names`` in ``namespace`` (and the same functions in ``modules``)
    by one that records a node when given KerasTensors."""
    wrapped: dict[int, Any] = {}
    for name in names:
        function = namespace.get(name)
        if name in _NOT_RECORDED or not callable(function) or isinstance(function, type):
            continue
        wrapper = wrapped.setdefault(id(function), _symbolic_aware(function, name))
        namespace[name] = wrapper
        for module in modules:
            if getattr(module, name, None) is function:
                setattr(module, name, wrapper)


def _symbolic_aware(function: Any, name: str) -> Any:
    @functools.wraps(function)
    def op(*args: Any, **kwargs: Any) -> Any:
        if _any_symbolic(args) or (kwargs and _any_symbolic(tuple(kwargs.values()))):
            return symbolic_op(function, name, args, kwargs)
        return function(*args, **kwargs)

    op.__wrapped_op__ = function  # type: ignore[attr-defined]
    return op


def _any_symbolic(values: tuple) -> bool:
    for value in values:
        kind = type(value)
        if kind is KerasTensor:
            return True
        if (kind is list or kind is tuple) and any(type(v) is KerasTensor for v in value):
            return True
    return False


def symbolic_op(function: Any, name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Record ``function(*args, **kwargs)`` on KerasTensors as a node; its KerasTensor(s)."""
    from gpukeras.layers._node import Node, Operation

    operation = Operation(function, name)
    spec = _probe(function, name, args, kwargs)
    outputs = map_structure(lambda leaf: KerasTensor(leaf.shape, leaf.dtype), spec)
    for i, tensor in enumerate(flatten(outputs)):
        tensor.name = operation.name if i == 0 else f"{operation.name}_{i}"
    Node(operation, args, kwargs, outputs)
    return outputs


class _Leaf:
    """``(shape, dtype)`` of one output (not a tuple: a structure would open a tuple)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype: str) -> None:
        self.shape, self.dtype = shape, dtype


def _probe(function: Any, name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    tensors = [
        t for t in flatten([list(args), list(kwargs.values())]) if isinstance(t, KerasTensor)
    ]
    unknown = any(d is None for t in tensors for d in t.shape)
    runs = []
    for size in _PROBE_SIZES if unknown else _PROBE_SIZES[:1]:
        zeros = {id(t): _zeros(t, size) for t in tensors}
        swap = _swapper(zeros)
        out = function(*map_structure(swap, list(args)), **map_structure(swap, dict(kwargs)))
        runs.append(out)
    return _merge(name, runs, tensors)


def _swapper(zeros: dict[int, Any]) -> Any:
    def swap(leaf: Any) -> Any:
        return zeros[id(leaf)] if isinstance(leaf, KerasTensor) else leaf

    return swap


def _zeros(tensor: KerasTensor, size: int) -> Any:
    shape = tuple(size if d is None else int(d) for d in tensor.shape)
    return K.array_module().zeros(shape, dtype=tensor.dtype)


def _merge(name: str, runs: list[Any], tensors: list[KerasTensor]) -> Any:
    from gpukeras import autodiff

    flat_runs = [[autodiff.unwrap(y) for y in flatten(run)] for run in runs]
    batch_unknown = all(t.shape and t.shape[0] is None for t in tensors)
    leaves = []
    for i, y in enumerate(flat_runs[0]):
        shapes = [tuple(int(d) for d in run[i].shape) for run in flat_runs]
        if len({len(s) for s in shapes}) != 1:
            raise ValueError(
                f"ops.{name}: the rank of the output depends on the inputs' unknown axes, so "
                f"it cannot be used on KerasTensors. Received: shapes "
                f"{[t.shape for t in tensors]}"
            )
        shape = tuple(
            d if all(s[a] == d for s in shapes) else None for a, d in enumerate(shapes[0])
        )
        if batch_unknown and len(runs) > 1 and shape and shapes[0][0] == _PROBE_SIZES[0]:
            shape = (None, *shape[1:])
        leaves.append(_Leaf(shape, str(y.dtype)))
    return pack_like(runs[0], leaves) if isinstance(runs[0], (list, tuple, dict)) else leaves[0]


def symbolic_getitem(tensor: KerasTensor, key: Any) -> Any:
    """``tensor[key]`` on a KerasTensor: an ``ops.getitem`` node."""
    from gpukeras import ops

    return ops.getitem(tensor, key)
