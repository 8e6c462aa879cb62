"""Shape ops: one table row per op (forward, then its VJP).

Every VJP here moves the gradient back to the input's layout (indexing ops, whose
VJPs scatter, are in ``_indexing.py``).
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.ops import _shapes
from gpukeras.ops._dtypes import standardize
from gpukeras.ops._registry import defcomposite, defop, run, to_array


def _reshape_back(xp, g, y, x, **params):
    return (xp.reshape(g, x.shape),)


def _transpose_vjp(xp, g, y, x, axes):
    if axes is None:
        return (xp.transpose(g),)
    return (xp.transpose(g, tuple(numpy.argsort([a % x.ndim for a in axes]))),)


def _concatenate_vjp(xp, g, y, *xs, axis):
    bounds = numpy.cumsum([x.shape[axis] for x in xs])[:-1].tolist()
    return tuple(xp.split(g, bounds, axis=axis))


def _stack_vjp(xp, g, y, *xs, axis):
    return tuple(xp.take(g, i, axis=axis) for i in range(len(xs)))


def _tile_vjp(xp, g, y, x, repeats):
    reps = (1,) * (g.ndim - len(repeats)) + tuple(repeats)
    base = (1,) * (g.ndim - x.ndim) + tuple(x.shape)
    split = [n for pair in zip(reps, base) for n in pair]
    summed = g.reshape(split).sum(axis=tuple(range(0, 2 * g.ndim, 2)))
    return (summed.reshape(x.shape),)


def _repeat_vjp(xp, g, y, x, repeats, axis):
    source = x.reshape(-1) if axis is None else x
    ax = 0 if axis is None else axis % x.ndim
    owner = xp.repeat(xp.arange(source.shape[ax]), repeats)
    grad = xp.zeros(source.shape, dtype=g.dtype)
    xp.add.at(xp.moveaxis(grad, ax, 0), owner, xp.moveaxis(g, ax, 0))
    return (grad.reshape(x.shape),)


def _pad(xp, x, pad_width, constant_values):
    return xp.pad(x, pad_width, mode="constant", constant_values=constant_values)


def _pad_vjp(xp, g, y, x, pad_width, constant_values):
    index = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
    return (g[index],)


def _triangle(name):
    return lambda xp, g, y, x, k: (getattr(xp, name)(g, k),)


def _ident_vjp(xp, g, y, x, **params):
    return (g,)


_EVAL = _shapes.evaluated
defop(
    "reshape",
    lambda xp, x, newshape: xp.reshape(x, newshape),
    _reshape_back,
    _EVAL(lambda xp, x, newshape: xp.reshape(x, newshape)),
)
defop(
    "transpose",
    lambda xp, x, axes: xp.transpose(x, axes),
    _transpose_vjp,
    lambda s, axes: tuple(s[a] for a in axes) if axes is not None else tuple(s)[::-1],
)
defop(
    "expand_dims",
    lambda xp, x, axis: xp.expand_dims(x, axis),
    _reshape_back,
    _EVAL(lambda xp, x, axis: xp.expand_dims(x, axis)),
)
defop(
    "squeeze",
    lambda xp, x, axis: xp.squeeze(x, axis),
    _reshape_back,
    _EVAL(lambda xp, x, axis: xp.squeeze(x, axis)),
)
defop(
    "broadcast_to",
    lambda xp, x, shape: xp.broadcast_to(x, shape),
    _ident_vjp,
    lambda s, shape: tuple(numpy.broadcast_shapes(tuple(s), tuple(shape))),
)
defop(
    "concatenate",
    lambda xp, *xs, axis: xp.concatenate(xs, axis=axis),
    _concatenate_vjp,
    _EVAL(lambda xp, *xs, axis: xp.concatenate(xs, axis=axis)),
    promote=True,
)
defop(
    "stack",
    lambda xp, *xs, axis: xp.stack(xs, axis=axis),
    _stack_vjp,
    _EVAL(lambda xp, *xs, axis: xp.stack(xs, axis=axis)),
    promote=True,
)
defop(
    "tile",
    lambda xp, x, repeats: xp.tile(x, repeats),
    _tile_vjp,
    _EVAL(lambda xp, x, repeats: xp.tile(x, repeats)),
)
defop(
    "repeat",
    lambda xp, x, repeats, axis: xp.repeat(x, repeats, axis=axis),
    _repeat_vjp,
    _EVAL(lambda xp, x, repeats, axis: xp.repeat(x, repeats, axis=axis)),
)
defop("pad", _pad, _pad_vjp, _EVAL(_pad))
defop("triu", lambda xp, x, k: xp.triu(x, k), _triangle("triu"), _shapes.same)
defop("tril", lambda xp, x, k: xp.tril(x, k), _triangle("tril"), _shapes.same)
defop("cast", lambda xp, x, dtype: x.astype(dtype), _ident_vjp, _shapes.same)
defop("zeros_like", lambda xp, x, dtype: xp.zeros_like(x, dtype=dtype), None, _shapes.same, "zero")
defop("ones_like", lambda xp, x, dtype: xp.ones_like(x, dtype=dtype), None, _shapes.same, "zero")
defop(
    "full_like",
    lambda xp, x, fill_value, dtype: xp.full_like(x, fill_value, dtype=dtype),
    None,
    _shapes.same,
    "zero",
)


def reshape(x: Any, newshape: Any) -> Any:
    """``x`` with shape ``newshape`` (one entry may be -1)."""
    shape = (
        (newshape,)
        if isinstance(newshape, int)
        else tuple(-1 if d is None else d for d in newshape)
    )
    return run("reshape", x, newshape=shape)


def transpose(x: Any, axes: Any = None) -> Any:
    """``x`` with its axes permuted (reversed when ``axes`` is None)."""
    return run("transpose", x, axes=None if axes is None else tuple(axes))


def expand_dims(x: Any, axis: Any) -> Any:
    """``x`` with new size-1 axes at ``axis``."""
    return run("expand_dims", x, axis=tuple(axis) if isinstance(axis, list) else axis)


def squeeze(x: Any, axis: Any = None) -> Any:
    """``x`` without its size-1 axes (only those in ``axis`` when given)."""
    return run("squeeze", x, axis=tuple(axis) if isinstance(axis, list) else axis)


def broadcast_to(x: Any, shape: Any) -> Any:
    """``x`` broadcast to ``shape``; the gradient is summed back."""
    return run("broadcast_to", x, shape=tuple(shape))


def concatenate(xs: Any, axis: int = 0) -> Any:
    """The arrays ``xs`` joined along ``axis``."""
    return run("concatenate", *xs, axis=axis)


def stack(x: Any, axis: int = 0) -> Any:
    """The arrays ``x`` stacked along a new ``axis``."""
    return run("stack", *x, axis=axis)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """``x`` cut along ``axis`` into equal sections or at the given indices."""
    value = to_array(x, K.array_module())
    n = value.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of size {n} cannot be cut into {indices_or_sections} equal "
                f"sections. Received: indices_or_sections={indices_or_sections}"
            )
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0, *[int(i) for i in indices_or_sections], n]
    prefix = (slice(None),) * (axis % value.ndim)
    from gpukeras.ops._indexing import getitem

    return [getitem(x, (*prefix, slice(lo, hi))) for lo, hi in zip(bounds[:-1], bounds[1:])]


def tile(x: Any, repeats: Any) -> Any:
    """``x`` repeated ``repeats`` times along each axis."""
    return run("tile", x, repeats=(repeats,) if isinstance(repeats, int) else tuple(repeats))


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Any:
    """Each element of ``x`` repeated ``repeats`` times along ``axis``.

    ``repeats`` is an int or a host sequence of ints: the output's shape depends on it,
    and reading device values to learn a shape would stop the device.
    """
    if not isinstance(repeats, int):
        if K.is_device_array(repeats) or hasattr(repeats, "_node"):
            raise ValueError(
                "repeat needs `repeats` on the host (an int or a list of ints): the output "
                f"shape depends on it. Received: repeats of type {type(repeats).__name__}"
            )
        repeats = [int(r) for r in numpy.asarray(repeats).reshape(-1)]
    return run("repeat", x, repeats=repeats, axis=axis)


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> Any:
    """``x`` padded by ``pad_width`` (``[(before, after), ...]``) with a constant."""
    if mode != "constant":
        raise ValueError(f"gpukeras.ops.pad supports mode='constant'. Received: mode={mode!r}")
    value = to_array(x, K.array_module())
    width = numpy.broadcast_to(numpy.asarray(pad_width, dtype=int), (value.ndim, 2))
    pairs = tuple((int(lo), int(hi)) for lo, hi in width)
    return run("pad", x, pad_width=pairs, constant_values=constant_values or 0)


def cast(x: Any, dtype: Any) -> Any:
    """``x`` as ``dtype``; a cast to an integer or bool type carries no gradient."""
    target = standardize(dtype)
    if target.kind not in "fc":
        from gpukeras.ops._core import stop_gradient

        x = stop_gradient(x)
    return run("cast", x, dtype=target)


def zeros_like(x: Any, dtype: Any = None) -> Any:
    """Zeros shaped like ``x``."""
    return run("zeros_like", x, dtype=standardize(dtype))


def ones_like(x: Any, dtype: Any = None) -> Any:
    """Ones shaped like ``x``."""
    return run("ones_like", x, dtype=standardize(dtype))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Any:
    """``fill_value`` shaped like ``x``."""
    return run("full_like", x, fill_value=fill_value, dtype=standardize(dtype))


def moveaxis(x: Any, source: Any, destination: Any) -> Any:
    """``x`` with axis ``source`` moved to ``destination``."""
    ndim = to_array(x, K.array_module()).ndim
    sources = [a % ndim for a in ((source,) if isinstance(source, int) else source)]
    targets = [a % ndim for a in ((destination,) if isinstance(destination, int) else destination)]
    order = [a for a in range(ndim) if a not in sources]
    for target, src in sorted(zip(targets, sources)):
        order.insert(target, src)
    return transpose(x, order)


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    """``x`` with two axes exchanged."""
    ndim = to_array(x, K.array_module()).ndim
    order = list(range(ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return transpose(x, order)


defcomposite(
    "split",
    lambda s, indices_or_sections, axis=0: tuple(
        a.shape for a in numpy.split(numpy.zeros(s), indices_or_sections, axis)
    ),
)
defcomposite(
    "moveaxis", _EVAL(lambda xp, x, source, destination: xp.moveaxis(x, source, destination))
)
defcomposite("swapaxes", _EVAL(lambda xp, x, axis1, axis2: xp.swapaxes(x, axis1, axis2)))


def triu(x: Any, k: int = 0) -> Any:
    """``x`` with the entries below diagonal ``k`` zeroed (last two axes)."""
    return run("triu", x, k=k)


def tril(x: Any, k: int = 0) -> Any:
    """``x`` with the entries above diagonal ``k`` zeroed (last two axes)."""
    return run("tril", x, k=k)


def ravel(x: Any) -> Any:
    """``x`` flattened to one axis."""
    return reshape(x, (-1,))


def hstack(xs: Any) -> Any:
    """Arrays joined along their second axis (the first for 1-d arrays)."""
    first = to_array(xs[0], K.array_module())
    return concatenate(xs, axis=0 if first.ndim == 1 else 1)


def vstack(xs: Any) -> Any:
    """Arrays joined along their first axis (1-d arrays become rows)."""
    rows = [reshape(x, (1, -1)) if to_array(x, K.array_module()).ndim == 1 else x for x in xs]
    return concatenate(rows, axis=0)


defcomposite("ravel", lambda s: (int(numpy.prod(s)),))
defcomposite("hstack", lambda *s: tuple(numpy.hstack([numpy.zeros(x) for x in s]).shape))
defcomposite("vstack", lambda *s: tuple(numpy.vstack([numpy.zeros(x) for x in s]).shape))
