"""Reductions: one table row per op (forward, then its VJP)."""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.ops import _shapes
from gpukeras.ops._registry import defop, run, to_array


def _kept(xp: Any, g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """``g`` reshaped so it broadcasts against the unreduced input."""
    if keepdims:
        return g
    return xp.reshape(g, _shapes.reduce(shape, axis, keepdims=True))


def _count(shape: tuple[int, ...], axis: Any) -> int:
    return math.prod(shape[a] for a in _shapes.normalize_axes(axis, len(shape)))


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _sum_vjp(xp, g, y, x, axis, keepdims):
    return (xp.broadcast_to(_kept(xp, g, x.shape, axis, keepdims), x.shape),)


def _mean_vjp(xp, g, y, x, axis, keepdims):
    scale = 1.0 / builtins.max(_count(x.shape, axis), 1)
    return (xp.broadcast_to(_kept(xp, g, x.shape, axis, keepdims) * scale, x.shape),)


def _chooser_vjp(xp, g, y, x, axis, keepdims):
    """max/min: the gradient is shared equally by the tied winners, as in JAX."""
    winners = x == _kept(xp, y, x.shape, axis, keepdims)
    share = winners / winners.sum(axis=axis, keepdims=True)
    return (share.astype(x.dtype) * _kept(xp, g, x.shape, axis, keepdims),)


def _prod_vjp(xp, g, y, x, axis, keepdims):
    return (_kept(xp, g, x.shape, axis, keepdims) * _kept(xp, y, x.shape, axis, keepdims) / x,)


def _var(xp, x, axis, keepdims):
    return xp.var(x, axis=axis, keepdims=keepdims)


def _var_vjp(xp, g, y, x, axis, keepdims):
    centered = x - x.mean(axis=axis, keepdims=True)
    scale = 2.0 / builtins.max(_count(x.shape, axis), 1)
    return (_kept(xp, g, x.shape, axis, keepdims) * centered * scale,)


def _std_vjp(xp, g, y, x, axis, keepdims):
    centered = x - x.mean(axis=axis, keepdims=True)
    n = builtins.max(_count(x.shape, axis), 1)
    return (
        _kept(xp, g, x.shape, axis, keepdims)
        * centered
        / (_kept(xp, y, x.shape, axis, keepdims) * n),
    )


def _logsumexp(xp, x, axis, keepdims):
    top = xp.max(x, axis=axis, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)
    out = xp.log(xp.sum(xp.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else xp.reshape(out, _shapes.reduce(x.shape, axis))


def _logsumexp_vjp(xp, g, y, x, axis, keepdims):
    weights = xp.exp(x - _kept(xp, y, x.shape, axis, keepdims))
    return (_kept(xp, g, x.shape, axis, keepdims) * weights,)


def _norm(xp, x, axis, keepdims):
    return xp.sqrt(xp.sum(x * x, axis=axis, keepdims=keepdims))


def _norm_vjp(xp, g, y, x, axis, keepdims):
    y_kept = _kept(xp, y, x.shape, axis, keepdims)
    safe = xp.where(y_kept == 0, 1, y_kept)
    return (_kept(xp, g, x.shape, axis, keepdims) * x / safe,)


def _arg(fn):
    def forward(xp, x, axis, keepdims):
        out = fn(xp, x, axis)
        if keepdims:
            out = xp.reshape(out, _shapes.reduce(x.shape, axis, keepdims=True))
        return out.astype("int32")

    return forward


def _cumsum(xp, x, axis):
    return xp.cumsum(x.reshape(-1) if axis is None else x, axis=0 if axis is None else axis)


def _cumsum_vjp(xp, g, y, x, axis):
    ax = 0 if axis is None else axis
    back = xp.flip(xp.cumsum(xp.flip(g, ax), axis=ax), ax)  # each input feeds every later sum
    return (back.reshape(x.shape),)


defop(
    "cumsum",
    _cumsum,
    _cumsum_vjp,
    lambda s, axis: (int(math.prod(s)),) if axis is None else tuple(s),
)
_R = _shapes.reduce
defop("sum", lambda xp, x, axis, keepdims: xp.sum(x, axis=axis, keepdims=keepdims), _sum_vjp, _R)
defop("mean", lambda xp, x, axis, keepdims: xp.mean(x, axis=axis, keepdims=keepdims), _mean_vjp, _R)
defop(
    "max", lambda xp, x, axis, keepdims: xp.max(x, axis=axis, keepdims=keepdims), _chooser_vjp, _R
)
defop(
    "min", lambda xp, x, axis, keepdims: xp.min(x, axis=axis, keepdims=keepdims), _chooser_vjp, _R
)
defop("prod", lambda xp, x, axis, keepdims: xp.prod(x, axis=axis, keepdims=keepdims), _prod_vjp, _R)
defop("var", _var, _var_vjp, _R)
defop("std", lambda xp, x, axis, keepdims: xp.std(x, axis=axis, keepdims=keepdims), _std_vjp, _R)
defop("logsumexp", _logsumexp, _logsumexp_vjp, _R)
defop("norm", _norm, _norm_vjp, _R)
defop("argmax", _arg(lambda xp, x, axis: xp.argmax(x, axis=axis)), None, _R, "non_differentiable")
defop("argmin", _arg(lambda xp, x, axis: xp.argmin(x, axis=axis)), None, _R, "non_differentiable")
defop(
    "count_nonzero",
    lambda xp, x, axis: xp.asarray(xp.count_nonzero(x, axis=axis)).astype("int32"),
    None,
    _R,
    "zero",
)
defop(
    "any", lambda xp, x, axis, keepdims: xp.any(x, axis=axis, keepdims=keepdims), None, _R, "zero"
)
defop(
    "all", lambda xp, x, axis, keepdims: xp.all(x, axis=axis, keepdims=keepdims), None, _R, "zero"
)


def _float_input(x: Any) -> Any:
    """Integer and bool inputs reduce in floatx, as Keras's mean/var/std do."""
    value = to_array(x, K.array_module())
    if value.dtype.kind in "fc":
        return x
    from gpukeras.ops._shape_ops import cast

    return cast(x, K.floatx())


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Sum of ``x`` over ``axis`` (all axes when ``None``)."""
    return run("sum", x, axis=_axis(axis), keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Mean of ``x`` over ``axis``."""
    return run("mean", _float_input(x), axis=_axis(axis), keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Any:  # noqa: A001
    """Maximum of ``x`` over ``axis``; tied maxima share the gradient."""
    out = run("max", x, axis=_axis(axis), keepdims=keepdims)
    if initial is not None:
        from gpukeras.ops._elementwise import maximum

        out = maximum(out, initial)
    return out


def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Any:  # noqa: A001
    """Minimum of ``x`` over ``axis``; tied minima share the gradient."""
    out = run("min", x, axis=_axis(axis), keepdims=keepdims)
    if initial is not None:
        from gpukeras.ops._elementwise import minimum

        out = minimum(out, initial)
    return out


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Any:
    """Product of ``x`` over ``axis`` (its gradient divides by ``x``: no zeros in ``x``)."""
    if dtype is not None:
        from gpukeras.ops._shape_ops import cast

        x = cast(x, dtype)
    return run("prod", x, axis=_axis(axis), keepdims=keepdims)


def var(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Population variance of ``x`` over ``axis``."""
    return run("var", _float_input(x), axis=_axis(axis), keepdims=keepdims)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Population standard deviation of ``x`` over ``axis``."""
    return run("std", _float_input(x), axis=_axis(axis), keepdims=keepdims)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(x)))`` over ``axis``, computed without overflow."""
    return run("logsumexp", x, axis=_axis(axis), keepdims=keepdims)


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Index of the maximum along ``axis`` (int32; no gradient)."""
    return run("argmax", x, axis=axis, keepdims=keepdims)


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Index of the minimum along ``axis`` (int32; no gradient)."""
    return run("argmin", x, axis=axis, keepdims=keepdims)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Whether any element along ``axis`` is true."""
    return run("any", x, axis=_axis(axis), keepdims=keepdims)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Whether every element along ``axis`` is true."""
    return run("all", x, axis=_axis(axis), keepdims=keepdims)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """Vector or matrix norm (``ord``: None/'fro'/2 Euclidean, 1, inf, -inf for vectors)."""
    x = _float_input(x)
    axis = _axis(axis)
    if ord in (None, "fro", "euclidean") or (ord == 2 and not isinstance(axis, tuple)):
        return run("norm", x, axis=axis, keepdims=keepdims)
    from gpukeras.ops._elementwise import absolute

    if ord == 1 and not isinstance(axis, tuple):
        return sum(absolute(x), axis=axis, keepdims=keepdims)
    if ord in (numpy.inf, "inf") and not isinstance(axis, tuple):
        return max(absolute(x), axis=axis, keepdims=keepdims)
    if ord in (-numpy.inf, "-inf") and not isinstance(axis, tuple):
        return min(absolute(x), axis=axis, keepdims=keepdims)
    raise ValueError(
        "gpukeras.ops.norm supports ord None, 'fro', 2, 1, inf and -inf (vector norms). "
        f"Received: ord={ord!r}, axis={axis!r}"
    )


def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> Any:
    """Running sums of ``x`` along ``axis`` (of the flattened ``x`` when None)."""
    if dtype is not None:
        from gpukeras.ops._shape_ops import cast

        x = cast(x, dtype)
    return run("cumsum", x, axis=axis)


def count_nonzero(x: Any, axis: Any = None) -> Any:
    """How many entries of ``x`` along ``axis`` are not zero (int32)."""
    return run("count_nonzero", x, axis=_axis(axis))
