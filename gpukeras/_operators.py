"""Python's arithmetic operators as ``gpukeras.ops`` calls, shared by ``Tensor`` and ``Variable``.

Each operator is one op, so inside a ``GradientTape`` it records like any other.
"""

from __future__ import annotations

from typing import Any


def lazy_ops() -> Any:
    """``gpukeras.ops``, imported on first use."""
    from gpukeras import ops  # ops imports Tensor and Variable: resolved on first use

    return ops


class ArithmeticOperators:
    """``+ - * / // % ** @`` (and reflected), ``-x``, ``abs``, ordering and ``x[key]``."""

    __slots__ = ()

    def __add__(self, other: Any) -> Any:
        return lazy_ops().add(self, other)

    def __radd__(self, other: Any) -> Any:
        return lazy_ops().add(other, self)

    def __sub__(self, other: Any) -> Any:
        return lazy_ops().subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return lazy_ops().subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return lazy_ops().multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return lazy_ops().multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return lazy_ops().divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return lazy_ops().divide(other, self)

    def __floordiv__(self, other: Any) -> Any:
        return lazy_ops().floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return lazy_ops().floor_divide(other, self)

    def __mod__(self, other: Any) -> Any:
        return lazy_ops().mod(self, other)

    def __rmod__(self, other: Any) -> Any:
        return lazy_ops().mod(other, self)

    def __pow__(self, other: Any) -> Any:
        return lazy_ops().power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return lazy_ops().power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return lazy_ops().matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return lazy_ops().matmul(other, self)

    def __neg__(self) -> Any:
        return lazy_ops().negative(self)

    def __abs__(self) -> Any:
        return lazy_ops().absolute(self)

    def __lt__(self, other: Any) -> Any:
        return lazy_ops().less(self, other)

    def __le__(self, other: Any) -> Any:
        return lazy_ops().less_equal(self, other)

    def __gt__(self, other: Any) -> Any:
        return lazy_ops().greater(self, other)

    def __ge__(self, other: Any) -> Any:
        return lazy_ops().greater_equal(self, other)

    def __getitem__(self, key: Any) -> Any:
        return lazy_ops().getitem(self, key)
