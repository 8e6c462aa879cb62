"""Keras 1's initializer functions, ``normal(shape, scale=0.05, name=None)`` and friends,
and the adapter that lets ``init=lambda shape, name: normal(shape, scale=0.01,
name=name)`` initialise a layer. Each function returns a ``keras.Variable``, as Keras 1's
did; the values come from today's initializer classes (so ``set_random_seed`` holds)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy

from gpukeras import initializers as current
from gpukeras._legacy import warn_user


def _variable(value: numpy.ndarray, name: str | None) -> Any:
    from gpukeras.variables import Variable  # noqa: PLC0415 - variables import the backend

    return Variable(value, name=name or "variable")


def _shape(shape: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in shape)


def normal(shape: Any, scale: float = 0.05, name: str | None = None, **_: Any) -> Any:
    """Draws from ``N(0, scale)``."""
    return _variable(current.RandomNormal(stddev=scale)(_shape(shape)), name)


def uniform(shape: Any, scale: float = 0.05, name: str | None = None, **_: Any) -> Any:
    """Draws from ``U(-scale, scale)``."""
    return _variable(current.RandomUniform(-scale, scale)(_shape(shape)), name)


def identity(shape: Any, scale: float = 1.0, name: str | None = None, **_: Any) -> Any:
    """``scale`` times the identity (square 2-D shapes)."""
    return _variable(current.Identity(gain=scale)(_shape(shape)), name)


def orthogonal(shape: Any, scale: float = 1.1, name: str | None = None, **_: Any) -> Any:
    """A random orthogonal matrix times ``scale`` (Keras 1's default 1.1)."""
    return _variable(current.Orthogonal(gain=scale)(_shape(shape)), name)


def zero(shape: Any, name: str | None = None, **_: Any) -> Any:
    return _variable(current.Zeros()(_shape(shape)), name)


def one(shape: Any, name: str | None = None, **_: Any) -> Any:
    return _variable(current.Ones()(_shape(shape)), name)


def _preset(cls: Any) -> Callable[..., Any]:
    def draw(shape: Any, name: str | None = None, **_: Any) -> Any:
        return _variable(cls()(_shape(shape)), name)

    draw.__name__ = draw.__qualname__ = cls.__name__
    draw.__doc__ = f"Keras 1's function form of ``{cls.__name__}``."
    return draw


glorot_uniform = _preset(current.GlorotUniform)
glorot_normal = _preset(current.GlorotNormal)
he_uniform = _preset(current.HeUniform)
he_normal = _preset(current.HeNormal)
lecun_uniform = _preset(current.LecunUniform)

FUNCTIONS = (
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_uniform",
    "normal",
    "one",
    "orthogonal",
    "uniform",
    "zero",
)


def is_keras1_function(function: Any) -> bool:
    """``f(shape, name=None)`` without ``dtype``: Keras 1's form of an initializer."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return "name" in parameters and "dtype" not in parameters


def adapt(function: Callable[..., Any]) -> Callable[..., Any]:
    """Today's ``init(shape, dtype)`` for a Keras 1 ``f(shape, name)`` returning a
    variable or an array (a warning at the user's line says so)."""
    warn_user(
        "Initializer functions `f(shape, name)` are Keras 1's; pass an initializer name or "
        f"object (`keras.initializers.RandomNormal(stddev=...)`). Received: {function!r:.80}"
    )

    def init(shape: Any, dtype: Any = None) -> numpy.ndarray:
        from gpukeras import backend as K  # noqa: PLC0415

        made = function(_shape(shape), name=None)
        value = K.to_host(getattr(made, "value", made))
        return numpy.asarray(value, dtype=dtype or K.floatx())

    init.__name__ = getattr(function, "__name__", "keras1_initializer")
    return init
