"""``ops.nn``: activations, softmax, one-hot and the cross-entropies.

The activations reuse the forward/backward pairs of :mod:`gpukeras.activations` (the
same code the built-in layers run), registered as ops; the cross-entropies are written
in ops, exactly as Keras defines them, so their gradients come from their parts.
"""

from __future__ import annotations

from typing import Any

from gpukeras import activations
from gpukeras import backend as K
from gpukeras.ops import _shapes
from gpukeras.ops._registry import defcomposite, defop, run, to_array

_ACTIVATIONS = (
    "relu",
    "relu6",
    "sigmoid",
    "softplus",
    "softsign",
    "silu",
    "gelu",
    "elu",
    "selu",
    "celu",
    "leaky_relu",
    "log_sigmoid",
    "hard_sigmoid",
    "hard_silu",
    "hard_tanh",
    "softmax",
    "log_softmax",
    "sparse_plus",
    "squareplus",
    "tanh_shrink",
)


def _register(name: str) -> None:
    fn = activations.get(name)
    forward, backward = fn._forward, fn._backward
    defop(
        name,
        lambda xp, x, **params: forward(x, **params),
        lambda xp, g, y, x, **params: (backward(x, y, g, **params),),
        _shapes.same,
    )


for _name in _ACTIVATIONS:
    _register(_name)


def _float(x: Any) -> Any:
    value = to_array(x, K.array_module())
    if value.dtype.kind in "fc":
        return x
    from gpukeras.ops._shape_ops import cast

    return cast(x, K.floatx())


def relu(x: Any) -> Any:
    """``max(x, 0)``."""
    return run("relu", _float(x))


def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``."""
    return run("relu6", _float(x))


def sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(-x))``, without overflow."""
    return run("sigmoid", _float(x))


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, without overflow."""
    return run("softplus", _float(x))


def softsign(x: Any) -> Any:
    """``x / (1 + |x|)``."""
    return run("softsign", _float(x))


def silu(x: Any) -> Any:
    """``x * sigmoid(x)`` (also called swish)."""
    return run("silu", _float(x))


swish = silu


def gelu(x: Any, approximate: bool = True) -> Any:
    """Gaussian error linear unit (tanh approximation by default, as Keras)."""
    return run("gelu", _float(x), approximate=approximate)


def elu(x: Any, alpha: float = 1.0) -> Any:
    """``x`` above zero, ``alpha * (exp(x) - 1)`` below."""
    return run("elu", _float(x), alpha=alpha)


def selu(x: Any) -> Any:
    """Scaled ELU with Keras's constants."""
    return run("selu", _float(x))


def celu(x: Any, alpha: float = 1.0) -> Any:
    """Continuously differentiable ELU."""
    return run("celu", _float(x), alpha=alpha)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Any:
    """``x`` above zero, ``negative_slope * x`` below."""
    return run("leaky_relu", _float(x), negative_slope=negative_slope)


def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x))``, without overflow."""
    return run("log_sigmoid", _float(x))


def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``."""
    return run("hard_sigmoid", _float(x))


def hard_silu(x: Any) -> Any:
    """``x * hard_sigmoid(x)``."""
    return run("hard_silu", _float(x))


hard_swish = hard_silu


def hard_tanh(x: Any) -> Any:
    """``clip(x, -1, 1)``."""
    return run("hard_tanh", _float(x))


def sparse_plus(x: Any) -> Any:
    """Keras's sparse-plus activation."""
    return run("sparse_plus", _float(x))


def squareplus(x: Any, b: int = 4) -> Any:
    """``(x + sqrt(x**2 + b)) / 2``."""
    return run("squareplus", _float(x), b=b)


def tanh_shrink(x: Any) -> Any:
    """``x - tanh(x)``."""
    return run("tanh_shrink", _float(x))


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis``, without overflow."""
    return run("softmax", _float(x), axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - logsumexp(x)`` along ``axis``."""
    return run("log_softmax", _float(x), axis=axis)


def _one_hot(xp, x, num_classes, axis, dtype):
    classes = xp.arange(num_classes, dtype=x.dtype)
    hot = (x[..., None] == classes).astype(dtype)
    return hot if axis in (-1, x.ndim) else xp.moveaxis(hot, -1, axis)


def _one_hot_shape(shape, num_classes, axis, dtype):
    out = list(shape)
    out.insert(axis % (len(shape) + 1), num_classes)
    return tuple(out)


defop("one_hot", _one_hot, None, _one_hot_shape, "zero")


def one_hot(
    x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False
) -> Any:
    """Integer labels ``x`` as one-hot rows (negative labels give all zeros)."""
    if sparse:
        raise ValueError("gpukeras.ops.one_hot has no sparse output. Received: sparse=True")
    from gpukeras.ops._dtypes import standardize

    indices = to_array(x, K.array_module())
    if indices.dtype.kind not in "iu":
        indices = indices.astype("int32")
    dtype = standardize(dtype or K.floatx())
    return run("one_hot", indices, num_classes=int(num_classes), axis=axis, dtype=dtype)


def _same_shapes(name: str, target: Any, output: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    xp = K.array_module()
    t_shape, o_shape = to_array(target, xp).shape, to_array(output, xp).shape
    if t_shape != o_shape:
        raise ValueError(
            f"{name}: `target` and `output` must have the same shape. "
            f"Received: target.shape={t_shape}, output.shape={o_shape}"
        )
    return t_shape, o_shape


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Any:
    """Elementwise binary cross-entropy (probabilities clipped to ``[eps, 1 - eps]``)."""
    from gpukeras import ops

    _same_shapes("binary_crossentropy", target, output)
    if from_logits:
        positive = ops.multiply(ops.multiply(-1.0, target), log_sigmoid(output))
        negative = ops.multiply(ops.subtract(1.0, target), log_sigmoid(ops.negative(output)))
        return ops.subtract(positive, negative)
    eps = K.epsilon()
    output = ops.clip(output, eps, 1.0 - eps)
    bce = ops.multiply(target, ops.log(output))
    bce = ops.add(bce, ops.multiply(ops.subtract(1.0, target), ops.log(ops.subtract(1.0, output))))
    return ops.negative(bce)


def categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1
) -> Any:
    """Cross-entropy of one-hot (or soft) ``target`` rows against ``output`` along ``axis``."""
    from gpukeras import ops

    t_shape, _ = _same_shapes("categorical_crossentropy", target, output)
    if len(t_shape) < 1:
        raise ValueError(
            "categorical_crossentropy: `target` and `output` must be at least rank 1. "
            f"Received: target.shape={t_shape}"
        )
    if from_logits:
        log_prob = log_softmax(output, axis=axis)
    else:
        eps = K.epsilon()
        output = ops.divide(output, ops.sum(output, axis=axis, keepdims=True))
        log_prob = ops.log(ops.clip(output, eps, 1.0 - eps))
    return ops.negative(ops.sum(ops.multiply(target, log_prob), axis=axis))


def sparse_categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1
) -> Any:
    """Cross-entropy of integer labels ``target`` against ``output`` along ``axis``."""
    xp = K.array_module()
    labels = to_array(target, xp).astype("int32")
    o_shape = to_array(output, xp).shape
    if labels.ndim == len(o_shape) and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if len(o_shape) < 1 or labels.shape != o_shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy: `target` must have the shape of `output` "
            f"without its last axis. Received: target.shape={labels.shape}, "
            f"output.shape={o_shape}"
        )
    hot = one_hot(labels, o_shape[axis], axis=axis, dtype=to_array(output, xp).dtype)
    return categorical_crossentropy(hot, output, from_logits=from_logits, axis=axis)


defcomposite("binary_crossentropy", _shapes.broadcast)
defcomposite("categorical_crossentropy", lambda t, o, axis=-1, **k: _shapes.reduce(o, axis))
defcomposite("sparse_categorical_crossentropy", lambda t, o, axis=-1, **k: _shapes.reduce(o, axis))


def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False) -> Any:
    """``(mean, variance)`` of ``x`` over ``axes``."""
    from gpukeras import ops

    if synchronized:
        raise ValueError("gpukeras has no synchronized moments. Received: synchronized=True")
    return ops.mean(x, axis=axes, keepdims=keepdims), ops.var(x, axis=axes, keepdims=keepdims)


defcomposite(
    "moments",
    lambda s, axes, keepdims=False, **k: (_shapes.reduce(s, axes, keepdims),) * 2,
)


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> Any:
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``)."""
    from gpukeras import ops

    eps = K.epsilon() if epsilon is None else epsilon
    if order == 2:
        inverse = ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
        return ops.multiply(x, ops.minimum(inverse, 1.0 / eps))
    norm = ops.norm(x, ord=order, axis=axis, keepdims=True)
    return ops.divide(x, ops.maximum(norm, eps))


defcomposite("normalize", _shapes.same)
