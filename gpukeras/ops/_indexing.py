"""Indexing ops: ``take``, ``take_along_axis``, ``x[key]``, ``slice``, ``sort``, ``flip``.

Their VJPs scatter the gradient back; ``xp.add.at`` accumulates where indices repeat.
"""

from __future__ import annotations

import builtins
from typing import Any

from gpukeras import backend as K
from gpukeras.ops import _shapes
from gpukeras.ops._registry import defcomposite, defop, run, to_array

_EVAL = _shapes.evaluated


def _scatter_take(xp, g, x, indices, axis):
    grad = xp.zeros(x.shape if axis is not None else (x.size,), dtype=g.dtype)
    if axis is None:
        xp.add.at(grad, indices.ravel(), g.reshape(-1))
        return grad.reshape(x.shape)
    axis %= x.ndim
    moved = xp.moveaxis(grad, axis, 0)
    g_moved = xp.moveaxis(g, tuple(range(axis, axis + indices.ndim)), tuple(range(indices.ndim)))
    xp.add.at(moved, indices, g_moved)
    return grad


def _take_vjp(xp, g, y, x, indices, axis):
    return (_scatter_take(xp, g, x, indices, axis), None)


def _along_index(xp, shape, indices, axis):
    index = []
    for d in range(len(shape)):
        if d == axis:
            index.append(indices)
        else:
            view = [1] * len(shape)
            view[d] = indices.shape[d]
            index.append(xp.arange(indices.shape[d]).reshape(view))
    return tuple(index)


def _take_along_vjp(xp, g, y, x, indices, axis):
    if axis is None:
        grad = xp.zeros((x.size,), dtype=g.dtype)
        xp.add.at(grad, indices.ravel(), g.ravel())
        return (grad.reshape(x.shape), None)
    grad = xp.zeros(x.shape, dtype=g.dtype)
    xp.add.at(grad, _along_index(xp, x.shape, indices, axis % x.ndim), g)
    return (grad, None)


def _take_along(xp, x, indices, axis):
    if axis is None:
        return xp.take_along_axis(x.reshape(-1), indices.reshape(-1), 0)
    return xp.take_along_axis(x, indices, axis)


def _is_basic(key):
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, builtins.slice)) or k is None or k is Ellipsis for k in parts)


def _getitem_vjp(xp, g, y, x, key):
    grad = xp.zeros(x.shape, dtype=g.dtype)
    if _is_basic(key):
        grad[key] = g  # slices and ints pick each element at most once
    else:
        xp.add.at(grad, key, g)  # array indices may repeat: accumulate
    return (grad,)


defop(
    "take",
    lambda xp, x, i, axis: xp.take(x, i, axis=axis),
    _take_vjp,
    _EVAL(lambda xp, x, i, axis: xp.take(x, i, axis=axis), int_inputs=(1,)),
)
defop("take_along_axis", _take_along, _take_along_vjp, _EVAL(_take_along, int_inputs=(1,)))
defop("getitem", lambda xp, x, key: x[key], _getitem_vjp, _EVAL(lambda xp, x, key: x[key]))
defop(
    "flip",
    lambda xp, x, axis: xp.flip(x, axis),
    lambda xp, g, y, x, axis: (xp.flip(g, axis),),
    _shapes.same,
)
defop(
    "argsort",
    lambda xp, x, axis: xp.argsort(x, axis=axis).astype("int32"),
    None,
    _shapes.same,
    "zero",
)


def take(x: Any, indices: Any, axis: int | None = None) -> Any:
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened ``x`` when None)."""
    return run("take", x, _indices(indices), axis=axis)


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> Any:
    """``x`` indexed by ``indices`` matched along ``axis`` (NumPy's ``take_along_axis``)."""
    return run("take_along_axis", x, _indices(indices), axis=axis)


def _indices(indices: Any) -> Any:
    value = to_array(indices, K.array_module())
    return value if value.dtype.kind in "iu" else value.astype("int32")


def getitem(x: Any, key: Any) -> Any:
    """``x[key]`` (the gradient scatters back, summing repeated indices)."""
    return run("getitem", x, key=_static_key(key))


def _static_key(key: Any) -> Any:
    from gpukeras.autodiff import unwrap

    if isinstance(key, tuple):
        return tuple(_static_key(k) for k in key)
    if isinstance(key, list):
        return to_array(key, K.array_module())
    return unwrap(key)


def flip(x: Any, axis: Any = None) -> Any:
    """``x`` reversed along ``axis`` (all axes when None)."""
    return run("flip", x, axis=tuple(axis) if isinstance(axis, list) else axis)


def argsort(x: Any, axis: int = -1) -> Any:
    """Indices that sort ``x`` along ``axis`` (int32; no gradient)."""
    return run("argsort", x, axis=axis)


def sort(x: Any, axis: int = -1) -> Any:
    """``x`` sorted along ``axis``; the gradient goes back to where each value came from."""
    return take_along_axis(x, argsort(x, axis=axis), axis=axis)


def slice(inputs: Any, start_indices: Any, shape: Any) -> Any:  # noqa: A001 - Keras's name
    """The block of ``inputs`` of ``shape`` starting at ``start_indices``."""
    key = tuple(
        builtins.slice(int(start), int(start) + int(size))
        for start, size in zip(start_indices, shape)
    )
    return getitem(inputs, key)


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[Any, Any]:  # noqa: A002
    """The ``k`` largest entries along the last axis and their indices (int32), largest first."""
    from gpukeras.ops._elementwise import negative

    indices = getitem(argsort(negative(x), axis=-1), (Ellipsis, builtins.slice(0, k)))
    return take_along_axis(x, indices, axis=-1), indices


defcomposite("sort", _shapes.same)
defcomposite("top_k", lambda s, k, sorted=True: ((*s[:-1], k),) * 2)
defcomposite("slice", lambda s, start_indices, shape: tuple(shape))
