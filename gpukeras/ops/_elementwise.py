"""Elementwise maths: one table row per op (forward, then its VJP).

``g`` is the incoming gradient, ``y`` the forward output, ``x``/``a``/``b`` the inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gpukeras.activations import _erfc
from gpukeras.ops import _shapes
from gpukeras.ops._registry import defop, run


def _unary(name: str, forward: Callable[..., Any], grad: Callable[..., Any] | None) -> Any:
    vjp = None if grad is None else (lambda xp, g, y, x: (grad(xp, g, y, x),))
    defop(name, forward, vjp, _shapes.same, "differentiable" if grad else "zero", promote=True)

    def op(x: Any) -> Any:
        return run(name, x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of ``x``."
    return op


def _binary(name: str, forward: Callable[..., Any], vjp: Callable[..., Any] | None) -> Any:
    kind = "differentiable" if vjp else "zero"
    defop(name, forward, vjp, _shapes.broadcast, kind, promote=True)

    def op(x1: Any, x2: Any) -> Any:
        return run(name, x1, x2)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of ``x1`` and ``x2``, with broadcasting."
    return op


def _div_b(xp: Any, g: Any, a: Any, b: Any) -> Any:
    return -g * a / (b * b)


# Arithmetic.
add = _binary("add", lambda xp, a, b: a + b, lambda xp, g, y, a, b: (g, g))
subtract = _binary("subtract", lambda xp, a, b: a - b, lambda xp, g, y, a, b: (g, -g))
multiply = _binary("multiply", lambda xp, a, b: a * b, lambda xp, g, y, a, b: (g * b, g * a))
divide = _binary(
    "divide", lambda xp, a, b: a / b, lambda xp, g, y, a, b: (g / b, _div_b(xp, g, a, b))
)
maximum = _binary(
    "maximum",
    lambda xp, a, b: xp.maximum(a, b),
    lambda xp, g, y, a, b: (g * (a >= b), g * (a < b)),
)
minimum = _binary(
    "minimum",
    lambda xp, a, b: xp.minimum(a, b),
    lambda xp, g, y, a, b: (g * (a <= b), g * (a > b)),
)
power = _binary(
    "power",
    lambda xp, a, b: xp.power(a, b),
    lambda xp, g, y, a, b: (
        g * b * xp.power(a, b - 1),
        g * y * xp.log(xp.where(a > 0, a, 1)),
    ),
)
arctan2 = _binary(
    "arctan2",
    lambda xp, a, b: xp.arctan2(a, b),
    lambda xp, g, y, a, b: (g * b / (a * a + b * b), -g * a / (a * a + b * b)),
)
logaddexp = _binary(
    "logaddexp",
    lambda xp, a, b: xp.logaddexp(a, b),
    lambda xp, g, y, a, b: (g * xp.exp(a - y), g * xp.exp(b - y)),
)
floor_divide = _binary("floor_divide", lambda xp, a, b: xp.floor_divide(a, b), None)
mod = _binary(
    "mod", lambda xp, a, b: xp.mod(a, b), lambda xp, g, y, a, b: (g, -g * xp.floor_divide(a, b))
)

# Comparisons and logic: constants to the tape.
equal = _binary("equal", lambda xp, a, b: a == b, None)
not_equal = _binary("not_equal", lambda xp, a, b: a != b, None)
less = _binary("less", lambda xp, a, b: a < b, None)
less_equal = _binary("less_equal", lambda xp, a, b: a <= b, None)
greater = _binary("greater", lambda xp, a, b: a > b, None)
greater_equal = _binary("greater_equal", lambda xp, a, b: a >= b, None)
logical_and = _binary("logical_and", lambda xp, a, b: xp.logical_and(a, b), None)
logical_or = _binary("logical_or", lambda xp, a, b: xp.logical_or(a, b), None)
logical_xor = _binary("logical_xor", lambda xp, a, b: xp.logical_xor(a, b), None)
logical_not = _unary("logical_not", lambda xp, x: xp.logical_not(x), None)
isnan = _unary("isnan", lambda xp, x: xp.isnan(x), None)
isfinite = _unary("isfinite", lambda xp, x: xp.isfinite(x), None)
isinf = _unary("isinf", lambda xp, x: xp.isinf(x), None)

# Unary maths.
negative = _unary("negative", lambda xp, x: -x, lambda xp, g, y, x: -g)
absolute = _unary("absolute", lambda xp, x: xp.abs(x), lambda xp, g, y, x: g * xp.sign(x))
abs = absolute  # noqa: A001 - Keras's name
sign = _unary("sign", lambda xp, x: xp.sign(x), None)
floor = _unary("floor", lambda xp, x: xp.floor(x), None)
ceil = _unary("ceil", lambda xp, x: xp.ceil(x), None)
exp = _unary("exp", lambda xp, x: xp.exp(x), lambda xp, g, y, x: g * y)
exp2 = _unary("exp2", lambda xp, x: xp.exp2(x), lambda xp, g, y, x: g * y * math.log(2.0))
expm1 = _unary("expm1", lambda xp, x: xp.expm1(x), lambda xp, g, y, x: g * (y + 1))
log = _unary("log", lambda xp, x: xp.log(x), lambda xp, g, y, x: g / x)
log1p = _unary("log1p", lambda xp, x: xp.log1p(x), lambda xp, g, y, x: g / (x + 1))
log2 = _unary("log2", lambda xp, x: xp.log2(x), lambda xp, g, y, x: g / (x * math.log(2.0)))
log10 = _unary("log10", lambda xp, x: xp.log10(x), lambda xp, g, y, x: g / (x * math.log(10.0)))
sqrt = _unary("sqrt", lambda xp, x: xp.sqrt(x), lambda xp, g, y, x: g * 0.5 / y)
rsqrt = _unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda xp, g, y, x: g * -0.5 * y / x)
square = _unary("square", lambda xp, x: x * x, lambda xp, g, y, x: g * 2 * x)
reciprocal = _unary("reciprocal", lambda xp, x: 1 / x, lambda xp, g, y, x: -g * y * y)
sin = _unary("sin", lambda xp, x: xp.sin(x), lambda xp, g, y, x: g * xp.cos(x))
cos = _unary("cos", lambda xp, x: xp.cos(x), lambda xp, g, y, x: -g * xp.sin(x))
tan = _unary("tan", lambda xp, x: xp.tan(x), lambda xp, g, y, x: g * (1 + y * y))
arcsin = _unary("arcsin", lambda xp, x: xp.arcsin(x), lambda xp, g, y, x: g / xp.sqrt(1 - x * x))
arccos = _unary("arccos", lambda xp, x: xp.arccos(x), lambda xp, g, y, x: -g / xp.sqrt(1 - x * x))
arctan = _unary("arctan", lambda xp, x: xp.arctan(x), lambda xp, g, y, x: g / (1 + x * x))
sinh = _unary("sinh", lambda xp, x: xp.sinh(x), lambda xp, g, y, x: g * xp.cosh(x))
cosh = _unary("cosh", lambda xp, x: xp.cosh(x), lambda xp, g, y, x: g * xp.sinh(x))
tanh = _unary("tanh", lambda xp, x: xp.tanh(x), lambda xp, g, y, x: g * (1 - y * y))
arcsinh = _unary("arcsinh", lambda xp, x: xp.arcsinh(x), lambda xp, g, y, x: g / xp.sqrt(x * x + 1))
arccosh = _unary("arccosh", lambda xp, x: xp.arccosh(x), lambda xp, g, y, x: g / xp.sqrt(x * x - 1))
arctanh = _unary("arctanh", lambda xp, x: xp.arctanh(x), lambda xp, g, y, x: g / (1 - x * x))


# The error function reuses the activations' erfc (a fused kernel with a NumPy twin).
erf = _unary(
    "erf",
    lambda xp, x: 1.0 - _erfc(x),
    lambda xp, g, y, x: g * (2.0 / math.sqrt(math.pi)) * xp.exp(-x * x),
)


# Several inputs, or options.
defop(
    "where",
    lambda xp, c, a, b: xp.where(c, a, b),
    lambda xp, g, y, c, a, b: (None, xp.where(c, g, 0), xp.where(c, 0, g)),
    _shapes.broadcast,
    promote=(1, 2),
)
defop(
    "clip",
    lambda xp, x, lo, hi: xp.clip(x, lo, hi),
    lambda xp, g, y, x, lo, hi: (g * ((x >= lo) & (x <= hi)), None, None),
    _shapes.broadcast,
    promote=(0,),
)
defop("round", lambda xp, x, decimals: xp.round(x, decimals), None, _shapes.same, "zero")


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """``x1`` where ``condition`` holds, else ``x2`` (all three broadcast)."""
    if x1 is None and x2 is None:
        raise ValueError(
            "gpukeras.ops.where needs x1 and x2 (the one-argument form returns data-dependent "
            "shapes, which a device step cannot have). Received: x1=None, x2=None"
        )
    if x1 is None or x2 is None:
        raise ValueError(
            "where needs both x1 and x2. "
            f"Received: x1={'None' if x1 is None else 'a value'}, "
            f"x2={'None' if x2 is None else 'a value'}"
        )
    return run("where", condition, x1, x2)


def clip(x: Any, x_min: Any, x_max: Any) -> Any:
    """``x`` limited to ``[x_min, x_max]``; the gradient passes where ``x`` is inside."""
    return run("clip", x, x_min, x_max)


def round(x: Any, decimals: int = 0) -> Any:  # noqa: A001 - Keras's name
    """``x`` rounded half to even to ``decimals`` places (no gradient)."""
    return run("round", x, decimals=decimals)


def true_divide(x1: Any, x2: Any) -> Any:
    """Same as :func:`divide`."""
    return divide(x1, x2)
