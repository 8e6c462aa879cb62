"""Keras 3's weight constraints: projections the optimizer applies after each update.

Each takes the weight's array and returns the projected array, in ``xp`` on the weight's own
backend and dtype (the optimizer then writes it back in place: no host read).
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K


def _array(w: Any) -> Any:
    """The raw array of a Variable (or an array as is)."""
    return getattr(w, "value", w)


def _norms(w: Any, axis: Any) -> Any:
    xp = K.get_array_module(w)
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return xp.sqrt(xp.sum(xp.square(w), axis=axis, keepdims=True))


def _scaled(w: Any, norms: Any, desired: Any) -> Any:
    """``w * desired / (epsilon + norms)``, in ``w``'s dtype."""
    result = w * (desired / (K.epsilon() + norms))
    return result.astype(w.dtype, copy=False)


def _check_number(name: str, value: Any, low: float | None = None) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (low is not None and value < low)
    ):
        bound = "" if low is None else f" >= {low}"
        raise ValueError(f"`{name}` must be a number{bound}. Received: {name}={value!r}")


class Constraint:
    """Base class: ``__call__(w)`` returns ``w`` projected (here: unchanged)."""

    def __call__(self, w: Any) -> Any:
        return _array(w)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.get_config() == other.get_config()  # type: ignore[attr-defined]

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescales each slice along ``axis`` whose L2 norm exceeds ``max_value`` (default 2)."""

    def __init__(self, max_value: float = 2, axis: Any = 0) -> None:
        _check_number("max_value", max_value, low=0)
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w: Any) -> Any:
        w = _array(w)
        norms = _norms(w, self.axis)
        return _scaled(w, norms, K.get_array_module(w).clip(norms, 0, self.max_value))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Negative weights become 0."""

    def __call__(self, w: Any) -> Any:
        w = _array(w)
        return K.get_array_module(w).maximum(w, w.dtype.type(0))


class UnitNorm(Constraint):
    """Each slice along ``axis`` rescaled to L2 norm 1."""

    def __init__(self, axis: Any = 0) -> None:
        self.axis = axis

    def __call__(self, w: Any) -> Any:
        w = _array(w)
        return _scaled(w, _norms(w, self.axis), 1.0)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Each slice's norm moved towards ``[min_value, max_value]``:
    ``rate * clip(norm, min, max) + (1 - rate) * norm``."""

    def __init__(
        self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Any = 0
    ) -> None:
        _check_number("min_value", min_value, low=0)
        _check_number("max_value", max_value, low=0)
        _check_number("rate", rate, low=0)
        if min_value > max_value:
            raise ValueError(
                "`min_value` must be <= `max_value`. "
                f"Received: min_value={min_value!r}, max_value={max_value!r}"
            )
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w: Any) -> Any:
        w = _array(w)
        norms = _norms(w, self.axis)
        clipped = K.get_array_module(w).clip(norms, self.min_value, self.max_value)
        return _scaled(w, norms, self.rate * clipped + (1 - self.rate) * norms)

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }
