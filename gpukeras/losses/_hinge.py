"""Hinge losses for labels in {-1, 1} (binary {0, 1} labels are converted, as Keras does)."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.losses._loss import Loss
from gpukeras.losses._math import one_hot
from gpukeras.losses._regression import MeanOverLastAxisLoss

__all__ = [
    "CategoricalHinge",
    "Hinge",
    "SquaredHinge",
    "categorical_hinge",
    "hinge",
    "squared_hinge",
]


def to_signed_labels(y_true: Any) -> Any:
    """Labels all in {0, 1} become {-1, 1}; other labels are left alone.

    Decided on the device for the whole batch, like Keras, without reading it back.
    """
    xp = K.get_array_module(y_true)
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return xp.where(is_binary, 2.0 * y_true - 1.0, y_true).astype(y_true.dtype)


class Hinge(MeanOverLastAxisLoss):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; Keras name ``'hinge'``."""

    default_name = "hinge"

    def _margin(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        signed = to_signed_labels(y_true)
        return K.get_array_module(y_pred).maximum(1.0 - signed * y_pred, 0.0), signed

    def _elementwise(self, y_true: Any, y_pred: Any) -> Any:
        return self._margin(y_true, y_pred)[0]

    def _elementwise_grad(self, y_true: Any, y_pred: Any) -> Any:
        margin, signed = self._margin(y_true, y_pred)
        return -signed * (margin > 0.0)


class SquaredHinge(Hinge):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``; name ``'squared_hinge'``."""

    default_name = "squared_hinge"

    def _elementwise(self, y_true: Any, y_pred: Any) -> Any:
        return self._margin(y_true, y_pred)[0] ** 2

    def _elementwise_grad(self, y_true: Any, y_pred: Any) -> Any:
        margin, signed = self._margin(y_true, y_pred)
        return -2.0 * signed * margin


class CategoricalHinge(Loss):
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` per sample.

    Args:
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``'categorical_hinge'``.
        dtype: see :class:`Loss` (default ``None``).
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_hinge",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def _parts(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        positive = (y_true * y_pred).sum(axis=-1)
        negative_scores = (1.0 - y_true) * y_pred
        return negative_scores, negative_scores.max(axis=-1) - positive + 1.0

    def call(self, y_true: Any, y_pred: Any) -> Any:
        _, margin = self._parts(y_true, y_pred)
        return K.get_array_module(y_pred).maximum(margin, 0.0)

    def _call_grad(self, y_true: Any, y_pred: Any) -> Any:
        negative_scores, margin = self._parts(y_true, y_pred)
        top = negative_scores.argmax(axis=-1)
        top_one_hot = one_hot(top, y_pred.shape[-1], y_pred.dtype)
        grad = (1.0 - y_true) * top_one_hot - y_true
        return grad * (margin > 0.0)[..., None]


def hinge(y_true: Any, y_pred: Any) -> Any:
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``."""
    return Hinge().values(y_true, y_pred)


def squared_hinge(y_true: Any, y_pred: Any) -> Any:
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``."""
    return SquaredHinge().values(y_true, y_pred)


def categorical_hinge(y_true: Any, y_pred: Any) -> Any:
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``."""
    return CategoricalHinge().values(y_true, y_pred)
