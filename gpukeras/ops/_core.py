"""Conversions, ``stop_gradient``, shape queries and constant-making ops."""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.autodiff._node import unwrap
from gpukeras.autodiff._tensor import Tensor
from gpukeras.ops import _shapes
from gpukeras.ops._dtypes import standardize
from gpukeras.ops._registry import defop, run, to_array
from gpukeras.variables import Variable

defop("identity", lambda xp, x: x, lambda xp, g, y, x: (g,), _shapes.same)
defop("array", lambda xp, x: x.copy(), lambda xp, g, y, x: (g,), _shapes.same)
# A new array object (a view): a watched input must not come back out under its own id.
defop("stop_gradient", lambda xp, x: x.view(), None, _shapes.same, "zero")


def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None) -> Any:
    """``x`` as an array of the active backend (a traced value stays traced).

    Python floats and float lists become floatx, Python ints int32, as in Keras.
    """
    if sparse or ragged:
        raise ValueError(
            f"gpukeras has no sparse or ragged tensors. Received: sparse={sparse}, ragged={ragged}"
        )
    target = standardize(dtype)
    if isinstance(x, (Tensor, Variable)):
        from gpukeras.ops._shape_ops import cast

        traced = run("identity", x)
        return traced if target is None or target == x.dtype else cast(traced, target)
    return to_array(x, K.array_module(), target)


def array(x: Any, dtype: Any = None) -> Any:
    """Keras's ``ops.array``: ``x`` as a new array of the active backend (never ``x`` itself,
    so writing into the result leaves ``x`` alone); on a tape, the copy is recorded."""
    target = standardize(dtype)
    xp = K.array_module()
    if not isinstance(x, (Tensor, Variable, xp.ndarray)):  # host data, lists, numbers
        x = to_array(x, xp, target)
    copied = run("array", x)
    if target is None or target == copied.dtype:
        return copied
    from gpukeras.ops._shape_ops import cast

    return cast(copied, target)


def convert_to_numpy(x: Any) -> numpy.ndarray:
    """A NumPy copy of ``x`` (one counted transfer; refused on a traced value)."""
    if isinstance(x, Tensor):
        return x.numpy()
    if isinstance(x, Variable):
        return x.numpy()
    if isinstance(x, numpy.ndarray):
        return x
    return numpy.asarray(K.to_host(x)) if K.is_device_array(x) else numpy.asarray(x)


def stop_gradient(variable: Any) -> Any:
    """``variable``'s value, cut from the tape: no gradient flows through it."""
    return run("stop_gradient", variable)


def shape(x: Any) -> tuple[int, ...]:
    """The static shape of ``x`` (no device read)."""
    return tuple(unwrap(x).shape) if hasattr(unwrap(x), "shape") else numpy.shape(x)


def ndim(x: Any) -> int:
    """The number of axes of ``x``."""
    return len(shape(x))


def size(x: Any) -> int:
    """The number of elements of ``x``."""
    return int(numpy.prod(shape(x)))


def dtype(x: Any) -> str:
    """The dtype name of ``x`` (``'float32'``)."""
    value = unwrap(x)
    if isinstance(getattr(value, "dtype", None), str):  # a KerasTensor's dtype is its name
        return value.dtype
    return (
        value.dtype.name
        if hasattr(value, "dtype")
        else to_array(value, K.array_module()).dtype.name
    )


def _const_shape(shape: Any, **params: Any) -> tuple[int, ...]:
    return (shape,) if isinstance(shape, int) else tuple(shape)


defop(
    "zeros",
    lambda xp, shape, dtype: xp.zeros(shape, dtype=dtype),
    None,
    lambda **p: _const_shape(p["shape"]),
    "zero",
)
defop(
    "ones",
    lambda xp, shape, dtype: xp.ones(shape, dtype=dtype),
    None,
    lambda **p: _const_shape(p["shape"]),
    "zero",
)
defop(
    "full",
    lambda xp, shape, fill_value, dtype: xp.full(shape, fill_value, dtype=dtype),
    None,
    lambda **p: _const_shape(p["shape"]),
    "zero",
)
defop(
    "eye",
    lambda xp, N, M, k, dtype: xp.eye(N, M, k, dtype=dtype),
    None,
    lambda **p: (p["N"], p["M"] if p["M"] is not None else p["N"]),
    "zero",
)
defop(
    "arange",
    lambda xp, start, stop, step, dtype: xp.arange(start, stop, step, dtype=dtype),
    None,
    lambda **p: (builtins.max(0, math.ceil((p["stop"] - p["start"]) / p["step"])),),
    "zero",
)


def _dtype_or_floatx(dtype: Any) -> Any:
    return standardize(dtype) if dtype is not None else numpy.dtype(K.floatx())


def zeros(shape: Any, dtype: Any = None) -> Any:
    """Zeros of ``shape`` (floatx by default)."""
    return run("zeros", shape=_const_shape(shape), dtype=_dtype_or_floatx(dtype))


def ones(shape: Any, dtype: Any = None) -> Any:
    """Ones of ``shape`` (floatx by default)."""
    return run("ones", shape=_const_shape(shape), dtype=_dtype_or_floatx(dtype))


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
    """``fill_value`` everywhere in ``shape``."""
    return run(
        "full", shape=_const_shape(shape), fill_value=fill_value, dtype=_dtype_or_floatx(dtype)
    )


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:  # noqa: N803
    """The identity matrix (ones on diagonal ``k``)."""
    return run("eye", N=N, M=M, k=k, dtype=_dtype_or_floatx(dtype))


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Any:
    """Evenly spaced values in ``[start, stop)`` (int32 for ints, floatx for floats)."""
    step = 1 if step is None else step
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, stop, step))
        dtype = K.floatx() if is_float else "int32"
    return run("arange", start=start, stop=stop, step=step, dtype=standardize(dtype))


def custom_gradient(f: Any) -> Any:
    """Decorator: ``f(*args)`` returns ``(output, grad_fn)``; ``grad_fn(upstream)`` returns
    the gradients of ``args`` (one, or a tuple). The result is one node on the tape."""
    import functools

    from gpukeras.autodiff import record

    @functools.wraps(f)
    def wrapped(*args: Any) -> Any:
        from gpukeras.autodiff._state import paused

        paused.append(True)  # f's own ops are not recorded: grad_fn is their gradient
        try:
            output, grad_fn = f(*[unwrap(a) for a in args])
        finally:
            paused.pop()

        def vjp(upstream: Any) -> Any:
            paused.append(True)
            try:
                grads = grad_fn(upstream)
            finally:
                paused.pop()
            grads = grads if isinstance(grads, (tuple, list)) else (grads,)
            return [None if g is None else unwrap(g) for g in grads]

        return record(unwrap(output), list(args), vjp, getattr(f, "__name__", "custom_gradient"))

    return wrapped
