"""Activation functions with their derivatives, named and parameterised like Keras 3.

Each activation is a pair of plain functions written next to each other:
``_name_forward(x, **params) -> y`` and ``_name_backward(x, y, grad, **params) -> dx``
(``grad`` is the gradient with respect to the output). :func:`_define` wraps the pair
in an :class:`ActivationFunction`; the keyword defaults of the forward function are the
activation's parameters (``relu(x, negative_slope=0.0, max_value=None, threshold=0.0)``).

The array code runs on whatever module owns ``x`` (NumPy or CuPy), keeps ``x``'s dtype
(constants are Python floats, so float32 stays float32) and avoids overflow on large
inputs (``exp`` only ever sees non-positive arguments, except in ``exponential``).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.backend.kernels import ElementwiseOp

__all__ = [
    "ActivationFunction",
    "celu",
    "deserialize",
    "elu",
    "exponential",
    "gelu",
    "get",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
]

ForwardFn = Callable[..., Any]
BackwardFn = Callable[..., Any]


class ActivationFunction:
    """An activation with its derivative, optionally bound to parameter values.

    ``forward(x)`` computes the activation; ``backward(x, y, grad)`` returns the gradient
    with respect to ``x`` given the gradient ``grad`` with respect to the output ``y``
    (``y = forward(x)``, passed so that derivatives cheaper in ``y`` reuse it; ``None``
    recomputes it). Calling the object works like the Keras function:
    ``relu(x, negative_slope=0.1)``. ``with_params(**params)`` returns a copy bound to
    other parameter values, e.g. ``softmax.with_params(axis=1)``.
    """

    def __init__(
        self,
        name: str,
        forward: ForwardFn,
        backward: BackwardFn,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self._forward = forward
        self._backward = backward
        self._defaults = _keyword_defaults(forward)
        self.params: dict[str, Any] = dict(self._defaults)
        self.params.update(self._validated(params or {}))

    def forward(self, x: Any) -> Any:
        """The activation of ``x`` (an array; lists are converted to floatx)."""
        return self._forward(_as_float_array(x), **self.params)

    def backward(self, x: Any, y: Any, grad: Any) -> Any:
        """The gradient with respect to ``x``; ``y`` is ``forward(x)`` or ``None``."""
        if y is None:
            y = self.forward(x)
        return self._backward(x, y, grad, **self.params)

    def __call__(self, x: Any, **params: Any) -> Any:
        if params:
            return self.with_params(**params).forward(x)
        return self.forward(x)

    def with_params(self, **params: Any) -> ActivationFunction:
        """A copy whose parameters are these values (others keep their current values)."""
        return ActivationFunction(
            self.name, self._forward, self._backward, {**self.params, **params}
        )

    @property
    def has_default_params(self) -> bool:
        """True when every parameter is at its Keras default."""
        return self.params == self._defaults

    def get_config(self) -> dict[str, Any]:
        """``{'name': ..., **params}``."""
        return {"name": self.name, **self.params}

    def _validated(self, params: dict[str, Any]) -> dict[str, Any]:
        checked = {}
        for key, value in params.items():
            if key not in self._defaults:
                expected = ", ".join(map(repr, self._defaults)) or "no parameters"
                raise TypeError(
                    f"Unknown parameter for activation {self.name!r}: expected "
                    f"{expected}. Received: {key}={value!r}"
                )
            checked[key] = _validated_param(self.name, key, value, self._defaults[key])
        return checked

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActivationFunction):
            return NotImplemented
        return (self.name, self.params) == (other.name, other.params)

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.params.items()))))

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.params.items() if v != self._defaults[k]}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"<ActivationFunction {self.name}({args})>"


def _keyword_defaults(forward: ForwardFn) -> dict[str, Any]:
    signature = inspect.signature(forward)
    return {
        name: p.default
        for name, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _validated_param(activation: str, key: str, value: Any, default: Any) -> Any:
    """Check ``value`` against the kind of ``default`` and normalise it."""
    if key == "axis":
        if _is_int(value):
            return int(value)
        if isinstance(value, (tuple, list)) and value and all(map(_is_int, value)):
            return tuple(int(v) for v in value)
        kind = "an int or a tuple of ints"
    elif isinstance(default, bool):
        if isinstance(value, (bool, numpy.bool_)):
            return bool(value)
        kind = "a bool"
    elif value is None and default is None:
        return None
    elif _is_real(value) and math.isfinite(float(value)):
        return float(value)
    else:
        kind = "a finite float" if default is not None else "None or a finite float"
    raise ValueError(
        f"Invalid parameter for activation {activation!r}: expected {key} to be {kind}. "
        f"Received: {key}={value!r}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, numpy.integer, numpy.floating)) and not isinstance(
        value, bool
    )


def _as_float_array(x: Any) -> Any:
    """``x`` itself when it is a float array; otherwise an array of floatx."""
    xp = K.get_array_module(x)
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype.kind == "f":
        return xp.asarray(x)
    return xp.asarray(x, dtype=K.floatx())


def _as(condition: Any, like: Any) -> Any:
    """A boolean mask as 0/1 in ``like``'s dtype (bool * float would give float64)."""
    return condition.astype(like.dtype)


_REGISTRY: dict[str, ActivationFunction] = {}
_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def _define(name: str, forward: ForwardFn, backward: BackwardFn) -> ActivationFunction:
    activation = ActivationFunction(name, forward, backward)
    activation.__doc__ = forward.__doc__
    _REGISTRY[name] = activation
    return activation


# --- piecewise linear ---------------------------------------------------------------


def _linear_forward(x: Any) -> Any:
    """Identity: ``linear(x) = x``."""
    return x


def _linear_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad


def _relu_forward(
    x: Any, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> Any:
    """Rectified linear unit, Keras 3 semantics.

    ``x`` above ``threshold`` (default 0.0) passes, clipped at ``max_value`` (default
    None: no limit); below it the output is ``negative_slope * (x - threshold)``
    (default slope 0.0). A non-zero threshold makes the output jump from 0 to
    ``threshold``, as in Keras.
    """
    xp = K.get_array_module(x)
    if threshold != 0.0:
        y = xp.where(x > threshold, x, 0.0)
    else:
        y = xp.maximum(x, 0.0)
    if max_value is not None:
        y = xp.clip(y, 0.0, max_value)
    if negative_slope != 0.0:
        y = y - negative_slope * xp.maximum(threshold - x, 0.0)
    return y


def _relu_backward(
    x: Any,
    y: Any,
    grad: Any,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> Any:
    passes = x > threshold
    if max_value is not None:
        passes &= (x > 0.0) & (x < max_value)
    slope = _as(passes, x)
    if negative_slope != 0.0:
        slope += negative_slope * _as(x < threshold, x)
    return grad * slope


def _leaky_relu_forward(x: Any, negative_slope: float = 0.2) -> Any:
    """``x`` for ``x >= 0``, ``negative_slope * x`` below (default slope 0.2)."""
    xp = K.get_array_module(x)
    return xp.where(x >= 0.0, x, negative_slope * x)


def _leaky_relu_backward(x: Any, y: Any, grad: Any, negative_slope: float = 0.2) -> Any:
    xp = K.get_array_module(x)
    return xp.where(x >= 0.0, grad, negative_slope * grad)


def _relu6_forward(x: Any) -> Any:
    """``min(max(x, 0), 6)``."""
    return K.get_array_module(x).clip(x, 0.0, 6.0)


def _relu6_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad * _as((x > 0.0) & (x < 6.0), x)


def _hard_sigmoid_forward(x: Any) -> Any:
    """Keras 3's ``relu6(x + 3) / 6``: 0 below -3, 1 above 3, linear between."""
    return K.get_array_module(x).clip(x + 3.0, 0.0, 6.0) / 6.0


def _hard_sigmoid_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad * _as((x > -3.0) & (x < 3.0), x) / 6.0


def _hard_silu_forward(x: Any) -> Any:
    """``x * hard_sigmoid(x)`` (also called hard_swish)."""
    return x * _hard_sigmoid_forward(x)


def _hard_silu_backward(x: Any, y: Any, grad: Any) -> Any:
    inside = _as((x > -3.0) & (x < 3.0), x)
    return grad * (_hard_sigmoid_forward(x) + x * inside / 6.0)


def _hard_tanh_forward(x: Any) -> Any:
    """``x`` clipped to [-1, 1]."""
    return K.get_array_module(x).clip(x, -1.0, 1.0)


def _hard_tanh_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad * _as((x > -1.0) & (x < 1.0), x)


def _soft_shrink_forward(x: Any, threshold: float = 0.5) -> Any:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``,
    0 between (default threshold 0.5)."""
    xp = K.get_array_module(x)
    return xp.sign(x) * xp.maximum(xp.abs(x) - threshold, 0.0)


def _soft_shrink_backward(x: Any, y: Any, grad: Any, threshold: float = 0.5) -> Any:
    return grad * _as(K.get_array_module(x).abs(x) > threshold, x)


def _hard_shrink_forward(x: Any, threshold: float = 0.5) -> Any:
    """``x`` where ``|x| > threshold`` (default 0.5), else 0."""
    xp = K.get_array_module(x)
    return x * _as(xp.abs(x) > threshold, x)


def _hard_shrink_backward(x: Any, y: Any, grad: Any, threshold: float = 0.5) -> Any:
    return grad * _as(K.get_array_module(x).abs(x) > threshold, x)


def _sparse_sigmoid_forward(x: Any) -> Any:
    """0 below -1, 1 above 1, ``(x + 1) / 2`` between."""
    return K.get_array_module(x).clip((x + 1.0) * 0.5, 0.0, 1.0)


def _sparse_sigmoid_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad * _as((x > -1.0) & (x < 1.0), x) * 0.5


def _sparse_plus_forward(x: Any) -> Any:
    """0 below -1, ``x`` above 1, ``(x + 1)**2 / 4`` between."""
    xp = K.get_array_module(x)
    middle = xp.clip(x, -1.0, 1.0) + 1.0
    return xp.where(x >= 1.0, x, middle * middle * 0.25)


def _sparse_plus_backward(x: Any, y: Any, grad: Any) -> Any:
    xp = K.get_array_module(x)
    return grad * xp.clip((x + 1.0) * 0.5, 0.0, 1.0)


# --- sigmoid family -----------------------------------------------------------------


def _sigmoid_forward(x: Any) -> Any:
    """``1 / (1 + exp(-x))``, computed without overflow for any ``x``."""
    xp = K.get_array_module(x)
    e = xp.exp(-xp.abs(x))  # in (0, 1]: never overflows
    return xp.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad * y * (1.0 - y)


def _softplus_forward(x: Any) -> Any:
    """``log(1 + exp(x))``, as ``max(x, 0) + log1p(exp(-|x|))`` to avoid overflow."""
    xp = K.get_array_module(x)
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def _softplus_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad * _sigmoid_forward(x)


def _log_sigmoid_forward(x: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -_softplus_forward(-x)


def _log_sigmoid_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad * _sigmoid_forward(-x)


def _silu_forward(x: Any) -> Any:
    """``x * sigmoid(x)`` (also called swish)."""
    return x * _sigmoid_forward(x)


def _silu_backward(x: Any, y: Any, grad: Any) -> Any:
    s = _sigmoid_forward(x)
    return grad * s * (1.0 + x * (1.0 - s))


def _mish_forward(x: Any) -> Any:
    """``x * tanh(softplus(x))``."""
    return x * K.get_array_module(x).tanh(_softplus_forward(x))


def _mish_backward(x: Any, y: Any, grad: Any) -> Any:
    t = K.get_array_module(x).tanh(_softplus_forward(x))
    return grad * (t + x * (1.0 - t * t) * _sigmoid_forward(x))


# --- tanh family --------------------------------------------------------------------


def _tanh_forward(x: Any) -> Any:
    """Hyperbolic tangent."""
    return K.get_array_module(x).tanh(x)


def _tanh_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad * (1.0 - y * y)


def _tanh_shrink_forward(x: Any) -> Any:
    """``x - tanh(x)``."""
    return x - K.get_array_module(x).tanh(x)


def _tanh_shrink_backward(x: Any, y: Any, grad: Any) -> Any:
    t = K.get_array_module(x).tanh(x)
    return grad * t * t


def _softsign_forward(x: Any) -> Any:
    """``x / (1 + |x|)``."""
    return x / (1.0 + K.get_array_module(x).abs(x))


def _softsign_backward(x: Any, y: Any, grad: Any) -> Any:
    denominator = 1.0 + K.get_array_module(x).abs(x)
    return grad / (denominator * denominator)


def _squareplus_forward(x: Any, b: float = 4.0) -> Any:
    """``(x + sqrt(x**2 + b)) / 2`` (default b 4.0)."""
    return (x + K.get_array_module(x).sqrt(x * x + b)) * 0.5


def _squareplus_backward(x: Any, y: Any, grad: Any, b: float = 4.0) -> Any:
    return grad * (1.0 + x / K.get_array_module(x).sqrt(x * x + b)) * 0.5


# --- exponential family -------------------------------------------------------------


def _exponential_forward(x: Any) -> Any:
    """``exp(x)``; overflows to inf (silently, as in Keras) above ~88 in float32."""
    xp = K.get_array_module(x)
    with numpy.errstate(over="ignore"):
        return xp.exp(x)


def _exponential_backward(x: Any, y: Any, grad: Any) -> Any:
    return grad * y


def _elu_forward(x: Any, alpha: float = 1.0) -> Any:
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise (default alpha 1.0)."""
    xp = K.get_array_module(x)
    return xp.where(x > 0.0, x, alpha * xp.expm1(xp.minimum(x, 0.0)))


def _elu_backward(x: Any, y: Any, grad: Any, alpha: float = 1.0) -> Any:
    # alpha*exp(x) rather than y + alpha: the sum cancels to noise far below zero.
    xp = K.get_array_module(x)
    return grad * xp.where(x > 0.0, 1.0, alpha * xp.exp(xp.minimum(x, 0.0)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _selu_forward(x: Any) -> Any:
    """``scale * elu(x, alpha)`` with alpha 1.67326324 and scale 1.05070098."""
    return _SELU_SCALE * _elu_forward(x, _SELU_ALPHA)


def _selu_backward(x: Any, y: Any, grad: Any) -> Any:
    return _SELU_SCALE * _elu_backward(x, y, grad, _SELU_ALPHA)


def _celu_forward(x: Any, alpha: float = 1.0) -> Any:
    """``max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)`` (default alpha 1.0)."""
    xp = K.get_array_module(x)
    return xp.maximum(x, 0.0) + alpha * xp.expm1(xp.minimum(x, 0.0) / alpha)


def _celu_backward(x: Any, y: Any, grad: Any, alpha: float = 1.0) -> Any:
    xp = K.get_array_module(x)
    return grad * xp.where(x > 0.0, 1.0, xp.exp(xp.minimum(x, 0.0) / alpha))


# --- gelu ---------------------------------------------------------------------------

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715
# Beyond this |x| the approximate gelu's CDF is exactly 0 or 1 in float64; clipping
# there keeps x**3 from overflowing without changing any output.
_GELU_TANH_CLIP = 100.0


def _gelu_forward(x: Any, approximate: bool = False) -> Any:
    """Gaussian error linear unit ``x * Phi(x)``.

    ``approximate=False`` (the Keras 3 default) uses the exact normal CDF,
    ``Phi(x) = erfc(-x / sqrt(2)) / 2`` (erfc keeps far-negative outputs accurate);
    ``approximate=True`` uses ``(1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3))) / 2``,
    evaluated as the equal ``sigmoid(2 * sqrt(2/pi) * (x + 0.044715 x**3))``, which
    does not cancel to noise for negative ``x``.
    """
    if approximate:
        return x * _gelu_tanh_cdf(x)
    return 0.5 * x * _erfc(-_SQRT_HALF * x)


def _gelu_backward(x: Any, y: Any, grad: Any, approximate: bool = False) -> Any:
    xp = K.get_array_module(x)
    if approximate:
        # d/dx x*s(2u) = s + x * 2 s (1 - s) * du/dx, with s = sigmoid(2u).
        s = _gelu_tanh_cdf(x)
        xc = xp.clip(x, -_GELU_TANH_CLIP, _GELU_TANH_CLIP)
        inner_slope = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * xc * xc)
        return grad * (s + 2.0 * x * s * (1.0 - s) * inner_slope)
    cdf = 0.5 * _erfc(-_SQRT_HALF * x)
    xc = xp.clip(x, -40.0, 40.0)  # the density is 0.0 beyond; avoids x*x overflow
    density = _INV_SQRT_2PI * xp.exp(-0.5 * xc * xc)
    return grad * (cdf + x * density)


def _gelu_tanh_cdf(x: Any) -> Any:
    """``(1 + tanh(u)) / 2 = sigmoid(2u)`` with ``u = sqrt(2/pi) (x + 0.044715 x**3)``."""
    xp = K.get_array_module(x)
    xc = xp.clip(x, -_GELU_TANH_CLIP, _GELU_TANH_CLIP)
    return _sigmoid_forward(2.0 * _SQRT_2_OVER_PI * (xc + _GELU_CUBIC * xc * xc * xc))


@functools.cache
def _erfc_chebyshev_coefficients(float_bits: int) -> tuple[float, ...]:
    """Chebyshev coefficients of ``f(u) = log(erfc(a) / t) + a**2``.

    With ``t = 2 / (2 + a)`` and ``u = 2t - 1``, ``f`` is smooth on [-1, 1] for all
    ``a >= 0``, so ``erfc(a) = t * exp(-a**2 + f(u))`` holds to relative 1e-14 (float64).
    Fitted once to ``math.erfc`` (asymptotic series where that underflows); float32
    keeps only the terms above its precision.
    """
    coefficients = numpy.polynomial.chebyshev.chebinterpolate(numpy.vectorize(_erfc_log_ratio), 26)
    tolerance = 1e-16 if float_bits == 64 else 1e-9
    keep = max(i for i, c in enumerate(coefficients) if abs(c) > tolerance) + 1
    return tuple(float(c) for c in coefficients[:keep])


def _erfc_log_ratio(u: float) -> float:
    t = (u + 1.0) / 2.0
    a = 2.0 / t - 2.0
    if a <= 25.0:
        return math.log(math.erfc(a) / t) + a * a
    # erfc(a) = exp(-a^2) / (a sqrt(pi)) * (1 - 1/(2a^2) + 3/(4a^4) - ...)
    series, term = 1.0, 1.0
    for k in range(1, 12):
        term *= -(2 * k - 1) / (2.0 * a * a)
        series += term
    return math.log(series / (a * math.sqrt(math.pi) * t))


def _erfc_numpy(z: Any, out: Any) -> None:
    """NumPy twin of the CUDA ``erfc``: writes erfc(z) into ``out``."""
    coefficients = _erfc_chebyshev_coefficients(8 * z.dtype.itemsize)
    a = numpy.minimum(numpy.abs(z), 30.0)  # erfc(30) underflows: keeps a*a finite
    t = 2.0 / (2.0 + a)
    u = 2.0 * t - 1.0
    tail = t * numpy.exp(_chebyshev_series(u, coefficients) - a * a)
    out[...] = numpy.where(z < 0.0, 2.0 - tail, tail)


def _chebyshev_series(u: Any, coefficients: tuple[float, ...]) -> Any:
    """Clenshaw's sum of ``c_k T_k(u)`` with Python-float coefficients."""
    two_u = 2.0 * u
    b1 = numpy.zeros_like(u)
    b2 = numpy.zeros_like(u)
    for c in coefficients[:0:-1]:
        b1, b2 = two_u * b1 - b2 + c, b1
    return u * b1 - b2 + coefficients[0]


_ERFC = ElementwiseOp("erfc", "T z", "T y", "y = erfc(z)", _erfc_numpy)


def _erfc(z: Any) -> Any:
    """The complementary error function, elementwise, in ``z``'s dtype."""
    if z.dtype.itemsize < 4:  # no half-precision erfc in CUDA; compute in float32
        return _erfc(z.astype("float32")).astype(z.dtype)
    out = K.get_array_module(z).empty_like(z)
    _ERFC(z, out)
    return out


# --- softmax ------------------------------------------------------------------------


def _softmax_forward(x: Any, axis: int | tuple[int, ...] = -1) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis`` (default -1), shifted by the max so
    that ``exp`` never overflows."""
    xp = K.get_array_module(x)
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _softmax_backward(x: Any, y: Any, grad: Any, axis: int | tuple[int, ...] = -1) -> Any:
    xp = K.get_array_module(x)
    return y * (grad - xp.sum(grad * y, axis=axis, keepdims=True))


def _log_softmax_forward(x: Any, axis: int | tuple[int, ...] = -1) -> Any:
    """``x - log(sum(exp(x)))`` along ``axis`` (default -1), computed stably."""
    xp = K.get_array_module(x)
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _log_softmax_backward(x: Any, y: Any, grad: Any, axis: int | tuple[int, ...] = -1) -> Any:
    xp = K.get_array_module(x)
    return grad - xp.exp(y) * xp.sum(grad, axis=axis, keepdims=True)


# --- the public objects -------------------------------------------------------------

linear = _define("linear", _linear_forward, _linear_backward)
relu = _define("relu", _relu_forward, _relu_backward)
leaky_relu = _define("leaky_relu", _leaky_relu_forward, _leaky_relu_backward)
relu6 = _define("relu6", _relu6_forward, _relu6_backward)
hard_sigmoid = _define("hard_sigmoid", _hard_sigmoid_forward, _hard_sigmoid_backward)
hard_silu = _define("hard_silu", _hard_silu_forward, _hard_silu_backward)
hard_swish = hard_silu
hard_tanh = _define("hard_tanh", _hard_tanh_forward, _hard_tanh_backward)
soft_shrink = _define("soft_shrink", _soft_shrink_forward, _soft_shrink_backward)
hard_shrink = _define("hard_shrink", _hard_shrink_forward, _hard_shrink_backward)
sparse_sigmoid = _define("sparse_sigmoid", _sparse_sigmoid_forward, _sparse_sigmoid_backward)
sparse_plus = _define("sparse_plus", _sparse_plus_forward, _sparse_plus_backward)
sigmoid = _define("sigmoid", _sigmoid_forward, _sigmoid_backward)
softplus = _define("softplus", _softplus_forward, _softplus_backward)
log_sigmoid = _define("log_sigmoid", _log_sigmoid_forward, _log_sigmoid_backward)
silu = _define("silu", _silu_forward, _silu_backward)
swish = silu
mish = _define("mish", _mish_forward, _mish_backward)
tanh = _define("tanh", _tanh_forward, _tanh_backward)
tanh_shrink = _define("tanh_shrink", _tanh_shrink_forward, _tanh_shrink_backward)
softsign = _define("softsign", _softsign_forward, _softsign_backward)
squareplus = _define("squareplus", _squareplus_forward, _squareplus_backward)
exponential = _define("exponential", _exponential_forward, _exponential_backward)
elu = _define("elu", _elu_forward, _elu_backward)
selu = _define("selu", _selu_forward, _selu_backward)
celu = _define("celu", _celu_forward, _celu_backward)
gelu = _define("gelu", _gelu_forward, _gelu_backward)
softmax = _define("softmax", _softmax_forward, _softmax_backward)
log_softmax = _define("log_softmax", _log_softmax_forward, _log_softmax_backward)


def _known_names() -> list[str]:
    return sorted([*_REGISTRY, *_ALIASES])


def deserialize(name: str | dict[str, Any]) -> ActivationFunction:
    """The activation called ``name`` (aliases 'swish', 'hard_swish' included).

    Also accepts Keras 3's dict form for functions,
    ``{'class_name': 'function', 'config': 'relu', ...}``.
    """
    if isinstance(name, dict):
        name = name.get("config", name.get("class_name"))
    custom = _custom_function(name)
    if custom is not None:
        return custom
    if not isinstance(name, str) or _ALIASES.get(name, name) not in _REGISTRY:
        expected = ", ".join(map(repr, _known_names()))
        raise ValueError(
            f"Unknown activation: {name!r}. Expected one of: {expected}. "
            f"Received: activation={name!r}"
        )
    return _REGISTRY[_ALIASES.get(name, name)]


def _custom_function(name: Any) -> Any:
    """A function registered or passed in ``custom_objects`` under ``name`` (never a
    built-in activation's name), as an activation; else None."""
    from gpukeras import _custom_objects
    from gpukeras._function_activation import FunctionActivation

    if not isinstance(name, str) or _ALIASES.get(name, name) in _REGISTRY:
        return None
    found = _custom_objects.with_current(None).get(name)
    return FunctionActivation(found) if callable(found) else None


def serialize(activation: Any) -> Any:
    """The Keras name of ``activation`` (an :class:`ActivationFunction`).

    Keras stores activations by name only, so an activation bound to non-default
    parameters cannot be serialized and raises ValueError rather than losing them.
    """
    from gpukeras._function_activation import FunctionActivation

    if isinstance(activation, FunctionActivation):
        return activation.get_config()
    if not isinstance(activation, ActivationFunction) or activation.name not in _REGISTRY:
        raise ValueError(
            "Cannot serialize activation: expected a gpukeras activation such as "
            f"gpukeras.activations.relu. Received: activation={activation!r}"
        )
    if not activation.has_default_params:
        raise ValueError(
            f"Cannot serialize activation {activation.name!r} bound to non-default "
            "parameters: Keras saves activations by name only. Received: "
            f"activation={activation!r}"
        )
    return activation.name


def get(identifier: Any) -> Any:
    """An activation object with ``forward`` and ``backward`` for ``identifier``.

    ``None`` gives :data:`linear`; a string or Keras dict config is looked up by name;
    an :class:`ActivationFunction` or any object with ``forward(x)`` and
    ``backward(x, y, grad)`` methods is returned as is. A plain function (written with
    ``gpukeras.ops``) is wrapped so that the tape gives its derivative.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(getattr(identifier, "forward", None)) and callable(
        getattr(identifier, "backward", None)
    ):
        return identifier
    if callable(identifier):  # a function of gpukeras.ops: the tape gives its derivative
        from gpukeras._function_activation import FunctionActivation

        return FunctionActivation(identifier)
    raise TypeError(
        "Could not interpret activation: expected None, a name such as 'relu', or an "
        "object with forward and backward methods. "
        f"Received: activation={identifier!r} of type {type(identifier).__name__}"
    )
