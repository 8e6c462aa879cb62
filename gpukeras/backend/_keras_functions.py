"""Keras 1/2's backend functions (``K.mean``, ``K.dot`` ...), written on ``gpukeras.ops``.

Old custom layers and ``Lambda`` bodies call these; each is one or two ``ops`` calls, so
it records on the tape and is differentiable like the ops. ``ops`` imports this package,
so it is imported on first call, not at import.
"""

from __future__ import annotations

from typing import Any

from gpukeras.backend._dtype import epsilon


def _ops() -> Any:
    from gpukeras import ops  # noqa: PLC0415 - ops imports the backend

    return ops


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Mean of ``x`` over ``axis`` (all axes when None)."""
    return _ops().mean(x, axis=axis, keepdims=keepdims)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Sum of ``x`` over ``axis``."""
    return _ops().sum(x, axis=axis, keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Maximum of ``x`` over ``axis``."""
    return _ops().max(x, axis=axis, keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Minimum of ``x`` over ``axis``."""
    return _ops().min(x, axis=axis, keepdims=keepdims)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Population standard deviation of ``x`` over ``axis``."""
    return _ops().std(x, axis=axis, keepdims=keepdims)


def var(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Population variance of ``x`` over ``axis``."""
    return _ops().var(x, axis=axis, keepdims=keepdims)


def argmax(x: Any, axis: int = -1) -> Any:
    """Index of the maximum along ``axis`` (Keras's default: the last axis)."""
    return _ops().argmax(x, axis=axis)


def argmin(x: Any, axis: int = -1) -> Any:
    """Index of the minimum along ``axis``."""
    return _ops().argmin(x, axis=axis)


def square(x: Any) -> Any:
    return _ops().square(x)


def sqrt(x: Any) -> Any:
    return _ops().sqrt(x)


def abs(x: Any) -> Any:  # noqa: A001
    return _ops().abs(x)


def exp(x: Any) -> Any:
    return _ops().exp(x)


def log(x: Any) -> Any:
    return _ops().log(x)


def tanh(x: Any) -> Any:
    return _ops().tanh(x)


def sigmoid(x: Any) -> Any:
    return _ops().sigmoid(x)


def softmax(x: Any, axis: int = -1) -> Any:
    return _ops().softmax(x, axis=axis)


def pow(x: Any, a: Any) -> Any:  # noqa: A001
    """``x ** a`` (Keras's ``K.pow``)."""
    return _ops().power(x, a)


def maximum(x: Any, y: Any) -> Any:
    return _ops().maximum(x, y)


def minimum(x: Any, y: Any) -> Any:
    return _ops().minimum(x, y)


def clip(x: Any, min_value: Any, max_value: Any) -> Any:
    """``x`` limited to ``[min_value, max_value]``."""
    return _ops().clip(x, min_value, max_value)


def relu(x: Any, alpha: float = 0.0, max_value: float | None = None) -> Any:
    """Keras 2's ``K.relu``: ``alpha * x`` below 0, capped at ``max_value``."""
    ops = _ops()
    y = ops.relu(x)
    if alpha:
        y = ops.add(y, ops.multiply(alpha, ops.minimum(x, 0.0)))
    return y if max_value is None else ops.minimum(y, max_value)


def l2_normalize(x: Any, axis: Any = None) -> Any:
    """``x / sqrt(max(sum(x**2, axis), epsilon))``, as Keras 2 computed it."""
    ops = _ops()
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, ops.rsqrt(ops.maximum(squares, 1e-12)))


def concatenate(tensors: Any, axis: int = -1) -> Any:
    """The tensors joined along ``axis`` (Keras's default: the last axis)."""
    return _ops().concatenate(list(tensors), axis=axis)


def stack(tensors: Any, axis: int = 0) -> Any:
    return _ops().stack(list(tensors), axis=axis)


def expand_dims(x: Any, axis: int = -1) -> Any:
    return _ops().expand_dims(x, axis)


def squeeze(x: Any, axis: int) -> Any:
    return _ops().squeeze(x, axis)


def reshape(x: Any, shape: Any) -> Any:
    return _ops().reshape(x, tuple(shape))


def transpose(x: Any) -> Any:
    """``x`` with its axes reversed."""
    return _ops().transpose(x)


def permute_dimensions(x: Any, pattern: Any) -> Any:
    """``x`` with its axes in the order ``pattern``."""
    return _ops().transpose(x, tuple(pattern))


def cast(x: Any, dtype: Any) -> Any:
    return _ops().cast(x, dtype)


def ones_like(x: Any, dtype: Any = None) -> Any:
    return _ops().ones_like(x, dtype=dtype)


def zeros_like(x: Any, dtype: Any = None) -> Any:
    return _ops().zeros_like(x, dtype=dtype)


def gather(reference: Any, indices: Any) -> Any:
    """Rows ``indices`` of ``reference`` (along axis 0)."""
    return _ops().take(reference, indices, axis=0)


def shape(x: Any) -> tuple[int, ...]:
    """The shape of ``x`` (concrete: gpukeras runs eagerly, so there is no symbolic shape)."""
    return tuple(_ops().shape(x))


def int_shape(x: Any) -> tuple[int, ...]:
    """The shape of ``x`` as a tuple of ints."""
    return tuple(int(d) for d in _ops().shape(x))


def ndim(x: Any) -> int:
    return len(_ops().shape(x))


def dot(x: Any, y: Any) -> Any:
    """Keras 2's ``K.dot``: the last axis of ``x`` with the second-to-last of ``y``
    (``y``'s last for a 1-d ``y``); an n-d ``y`` is contracted like Theano's dot."""
    ops = _ops()
    if len(ops.shape(y)) <= 2:
        return ops.matmul(x, y)
    return ops.tensordot(x, y, axes=([len(ops.shape(x)) - 1], [len(ops.shape(y)) - 2]))


def batch_dot(x: Any, y: Any, axes: Any = None) -> Any:
    """Per-sample dot products of two batches, as Keras 2's ``K.batch_dot``.

    ``axes`` (int or pair) names the axis of each that is contracted; the default is the
    last of ``x`` and the second-to-last of ``y`` (the last for 2-d ``y``). 2-d by 2-d
    gives shape ``(batch, 1)``.
    """
    ops = _ops()
    x_rank, y_rank = len(ops.shape(x)), len(ops.shape(y))
    if axes is None:
        axes = (x_rank - 1, y_rank - 1 if y_rank == 2 else y_rank - 2)
    elif isinstance(axes, int):
        axes = (axes, axes)
    a, b = (axis % rank for axis, rank in zip(axes, (x_rank, y_rank)))
    if a == 0 or b == 0:
        raise ValueError(f"`batch_dot` cannot contract the batch axis. Received: axes={axes!r}")
    if x_rank == 2 and y_rank == 2:
        return ops.sum(ops.multiply(x, y), axis=1, keepdims=True)
    x_last = ops.moveaxis(x, a, -1) if x_rank > 2 else ops.expand_dims(x, 1)
    y_first = ops.moveaxis(y, b, 1) if y_rank > 2 else ops.expand_dims(y, -1)
    out = ops.matmul(x_last, y_first)
    if x_rank == 2:
        out = ops.squeeze(out, 1)
    if y_rank == 2:
        out = ops.squeeze(out, -1)
    return out


def variable(value: Any, dtype: Any = None, name: str | None = None) -> Any:
    """A trainable ``keras.Variable`` holding ``value`` (Keras 2's ``K.variable``)."""
    from gpukeras.variables import Variable  # noqa: PLC0415 - variables imports the backend

    return Variable(value, name=name or "variable", dtype=dtype)


def get_value(x: Any) -> Any:
    """The value of a variable or array as a host NumPy array."""
    from gpukeras.backend._transfer import to_host  # noqa: PLC0415

    return to_host(getattr(x, "value", x))


def set_value(x: Any, value: Any) -> None:
    """Assign ``value`` to the variable ``x``."""
    x.assign(value)


_REFUSED = {
    "placeholder": "gpukeras runs eagerly: pass arrays to the model instead of placeholders.",
    "function": "gpukeras runs eagerly: call `model.predict` (or the layer) directly.",
    "gradients": "use `keras.GradientTape` (or `keras.value_and_grad`).",
    "get_session": "there is no TensorFlow session; gpukeras runs eagerly.",
    "set_session": "there is no TensorFlow session; gpukeras runs eagerly.",
    "learning_phase": "pass `training=` to the layer's `call()` instead.",
    "theano": "Theano-only functions are not available; write the computation with `keras.ops`.",
}


def refused(name: str) -> str | None:
    """The error text for an old backend function gpukeras does not offer, or None."""
    return _REFUSED.get(name)


__all__ = [
    "abs",
    "argmax",
    "argmin",
    "batch_dot",
    "cast",
    "clip",
    "concatenate",
    "dot",
    "epsilon",
    "exp",
    "expand_dims",
    "gather",
    "get_value",
    "int_shape",
    "l2_normalize",
    "log",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "ndim",
    "ones_like",
    "permute_dimensions",
    "pow",
    "relu",
    "reshape",
    "set_value",
    "shape",
    "sigmoid",
    "softmax",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sum",
    "tanh",
    "transpose",
    "var",
    "variable",
    "zeros_like",
]
