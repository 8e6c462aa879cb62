"""Fused kernels for Dense layers and the softmax-crossentropy head, with NumPy twins.

A Dense step on the fast path touches each activation array as few times as it can:

- ``bias_activation_forward``: ``z = activation(z + bias)`` in place on the GEMM output
  (one CuPy launch; two in-place passes on NumPy). Only the output is kept, which is enough
  for the activations in :data:`FUSED_ACTIVATIONS`: their derivatives are functions of it.
- ``activation_backward``: the gradient with respect to ``z`` from the output ``y`` and the
  incoming gradient, written into a preallocated buffer (one launch / one or two passes).
- ``softmax_crossentropy``: per-sample categorical crossentropy of softmax probabilities and
  its gradient with respect to the logits, ``(p * sum(t) - t) * scale``, in one elementwise
  launch plus row sums (Keras 3's renormalise-and-clip loss, the stable ``p - t`` gradient).

The NumPy twins follow the same operation order as :mod:`gpukeras.activations` and
:mod:`gpukeras.losses`, so results match the unfused code bit for bit on NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.backend._select import array_module, backend
from gpukeras.backend.kernels._op import ElementwiseOp
from gpukeras.backend.kernels.conv import relu_in_place

__all__ = [
    "FUSED_ACTIVATIONS",
    "activation_backward",
    "bias_activation_forward",
    "softmax_crossentropy",
    "softmax_inplace",
]

#: Activations whose derivative needs only the output (and Keras default parameters).
FUSED_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")


# --- forward: z = activation(z + bias), in place ---------------------------------------------


def _sigmoid_inplace(z: Any) -> None:
    """``gpukeras.activations.sigmoid`` written into ``z`` (same formula, same rounding)."""
    e = numpy.exp(-numpy.abs(z))
    positive = z >= 0.0
    denominator = numpy.add(e, 1.0)
    numpy.divide(1.0, denominator, out=z, where=positive)
    numpy.divide(e, denominator, out=z, where=~positive)


def softmax_inplace(z: Any) -> None:
    """Softmax over the last axis, written into ``z`` (``exp(z - max) / sum``)."""
    xp = array_module() if backend() == "cupy" else numpy
    xp.subtract(z, z.max(axis=-1, keepdims=True), out=z)
    xp.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)


def _forward_twin(name: str):
    def twin(bias: Any, z: Any) -> None:
        if bias is not None:
            z += bias
        if name == "relu":
            relu_in_place(z)
        elif name == "sigmoid":
            _sigmoid_inplace(z)
        elif name == "tanh":
            numpy.tanh(z, out=z)

    return twin


_FORWARD_BODIES = {
    "linear": "z = z + b;",
    # ``v != v`` keeps NaN like numpy.maximum does.
    "relu": "T v = z + b; z = (v > (T)0 || v != v) ? v : (T)0;",
    "sigmoid": (
        "T v = z + b; T e = exp(-fabs(v)); z = v >= (T)0 ? (T)1 / ((T)1 + e) : e / ((T)1 + e);"
    ),
    "tanh": "z = tanh(z + b);",
}
# No FMA contraction in these kernels: the fused fast path must train bit for bit like the
# generic one (separate CuPy ufuncs, each rounding), which NVRTC's default --fmad=true breaks
# (``1 - y*y`` becomes one fma). They are memory-bound, so nothing is lost.
_EXACT = ("--fmad=false",)
_FORWARD_OPS = {
    name: ElementwiseOp(f"bias_{name}", "T b", "T z", body, _forward_twin(name), options=_EXACT)
    for name, body in _FORWARD_BODIES.items()
}
_ZERO: dict[Any, Any] = {}


def bias_activation_forward(z: Any, bias: Any, name: str) -> None:
    """``z = name(z + bias)`` in place; ``bias`` may be None; ``name`` in FUSED_ACTIVATIONS."""
    if name == "softmax":
        if bias is not None:
            z += bias
        softmax_inplace(z)
        return
    if backend() == "cupy" and bias is None:
        key = z.dtype.str
        bias = _ZERO.get(key)
        if bias is None:
            bias = _ZERO[key] = array_module().zeros((), dtype=z.dtype)
    _FORWARD_OPS[name](bias, z)


# --- backward: gradient with respect to z from y --------------------------------------------


def _backward_twin(name: str):
    def twin(y: Any, grad: Any, mask: Any, out: Any) -> None:
        if name == "relu":
            numpy.greater(y, 0.0, out=mask)
            numpy.multiply(grad, mask, out=out)  # grad * 1.0 / grad * 0.0, as activations.relu
        elif name == "sigmoid":
            # activations: grad * y * (1 - y)
            numpy.multiply(grad, y, out=out)
            numpy.subtract(1.0, y, out=mask)
            out *= mask
        elif name == "tanh":
            # activations: grad * (1 - y * y)
            numpy.multiply(y, y, out=mask)
            numpy.subtract(1.0, mask, out=mask)
            numpy.multiply(grad, mask, out=out)

    return twin


_BACKWARD_BODIES = {
    "relu": "out = grad * (y > (T)0 ? (T)1 : (T)0);",
    "sigmoid": "out = grad * y * ((T)1 - y);",
    "tanh": "out = grad * ((T)1 - y * y);",
}
_BACKWARD_OPS = {
    name: ElementwiseOp(
        f"{name}_backward",
        "T y, T grad, raw S scratch",
        "T out",
        body,
        _backward_twin(name),
        options=_EXACT,
    )
    for name, body in _BACKWARD_BODIES.items()
}


def activation_backward(name: str, y: Any, grad: Any, out: Any, scratch: Any) -> Any:
    """The gradient w.r.t. the pre-activation, from output ``y`` and its gradient ``grad``.

    Written into ``out`` (same shape as ``y``) and returned; ``linear`` returns ``grad``.
    ``scratch`` is a buffer like ``y`` (bool for relu) that the NumPy twin may overwrite.
    """
    if name == "linear":
        return grad
    if name == "softmax":
        xp = array_module() if backend() == "cupy" else numpy
        # activations.softmax backward: y * (grad - sum(grad * y))
        xp.multiply(grad, y, out=out)
        total = out.sum(axis=-1, keepdims=True)
        xp.subtract(grad, total, out=out)
        out *= y
        return out
    _BACKWARD_OPS[name](y, grad, scratch, out)
    return out


# --- softmax + categorical crossentropy + gradient -------------------------------------------


def _xent_twin(p, t, total, target_sum, scale, low, high, term, grad) -> None:
    # loss: -(t * log(clip(p / sum(p), eps, 1 - eps))) summed over classes (Keras 3)
    numpy.divide(p, total, out=term)
    numpy.clip(term, low, high, out=term)
    numpy.log(term, out=term)
    term *= t
    numpy.negative(term, out=term)
    # gradient w.r.t. the logits: (p * sum(t) - t) * scale
    numpy.multiply(p, target_sum, out=grad)
    grad -= t
    grad *= scale


_XENT = ElementwiseOp(
    "softmax_xent",
    "T p, T t, T total, T target_sum, T scale, T low, T high",
    "T term, T grad",
    """
T q = p / total;
q = q < low ? low : (q > high ? high : q);
term = -(t * log(q));
grad = (p * target_sum - t) * scale;
""",
    _xent_twin,
    scalars=("scale", "low", "high"),
    options=_EXACT,
)


def softmax_crossentropy(
    probs: Any, targets: Any, scale: float, epsilon: float, grad_out: Any, term_out: Any
) -> Any:
    """Per-sample crossentropy of softmax ``probs`` (N, C) and one-hot/soft ``targets``.

    Writes ``(probs * sum(targets) - targets) * scale`` into ``grad_out`` (the gradient of
    ``scale * sum(loss)`` w.r.t. the logits) and returns the (N,) per-sample losses. Both
    follow Keras 3: probabilities renormalised and clipped to ``[epsilon, 1 - epsilon]``.
    """
    total = probs.sum(axis=-1, keepdims=True)
    target_sum = targets.sum(axis=-1, keepdims=True)
    _XENT(probs, targets, total, target_sum, scale, epsilon, 1.0 - epsilon, term_out, grad_out)
    return term_out.sum(axis=-1)
