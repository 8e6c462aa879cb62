"""Regression losses: squared, absolute, percentage, logarithmic, Huber, log-cosh, cosine."""

from __future__ import annotations

import math
from typing import Any

from gpukeras import backend as K
from gpukeras.losses._loss import Loss
from gpukeras.losses._math import softplus

__all__ = [
    "CosineSimilarity",
    "Huber",
    "LogCosh",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "cosine_similarity",
    "huber",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
]


class MeanOverLastAxisLoss(Loss):
    """A loss that is the mean of an elementwise function over the last axis.

    Subclasses define ``_elementwise`` and its derivative ``_elementwise_grad``.

    Args:
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``None``: the class's Keras name (``default_name``).
        dtype: see :class:`Loss` (default ``None``).
    """

    default_name = ""

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name or self.default_name or None, reduction=reduction, dtype=dtype)

    def _elementwise(self, y_true: Any, y_pred: Any) -> Any:
        raise NotImplementedError

    def _elementwise_grad(self, y_true: Any, y_pred: Any) -> Any:
        raise NotImplementedError

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return self._elementwise(y_true, y_pred).mean(axis=-1)

    def _call_grad(self, y_true: Any, y_pred: Any) -> Any:
        return self._elementwise_grad(y_true, y_pred) / float(y_pred.shape[-1])


class MeanSquaredError(MeanOverLastAxisLoss):
    """``mean(square(y_true - y_pred), axis=-1)``; Keras name ``'mean_squared_error'``."""

    default_name = "mean_squared_error"

    def _elementwise(self, y_true: Any, y_pred: Any) -> Any:
        return (y_pred - y_true) ** 2

    def _elementwise_grad(self, y_true: Any, y_pred: Any) -> Any:
        return 2.0 * (y_pred - y_true)


class MeanAbsoluteError(MeanOverLastAxisLoss):
    """``mean(abs(y_true - y_pred), axis=-1)``; Keras name ``'mean_absolute_error'``."""

    default_name = "mean_absolute_error"

    def _elementwise(self, y_true: Any, y_pred: Any) -> Any:
        return K.get_array_module(y_pred).abs(y_pred - y_true)

    def _elementwise_grad(self, y_true: Any, y_pred: Any) -> Any:
        return K.get_array_module(y_pred).sign(y_pred - y_true)


class MeanAbsolutePercentageError(MeanOverLastAxisLoss):
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``.

    Keras name ``'mean_absolute_percentage_error'``.
    """

    default_name = "mean_absolute_percentage_error"

    def _scale(self, y_true: Any) -> Any:
        xp = K.get_array_module(y_true)
        return 100.0 / xp.maximum(xp.abs(y_true), K.epsilon())

    def _elementwise(self, y_true: Any, y_pred: Any) -> Any:
        return K.get_array_module(y_pred).abs(y_pred - y_true) * self._scale(y_true)

    def _elementwise_grad(self, y_true: Any, y_pred: Any) -> Any:
        return K.get_array_module(y_pred).sign(y_pred - y_true) * self._scale(y_true)


class MeanSquaredLogarithmicError(MeanOverLastAxisLoss):
    """``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)``.

    Keras name ``'mean_squared_logarithmic_error'``.
    """

    default_name = "mean_squared_logarithmic_error"

    def _log_gap(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        xp = K.get_array_module(y_pred)
        shifted_pred = xp.maximum(y_pred, K.epsilon()) + 1.0
        gap = xp.log(shifted_pred) - xp.log(xp.maximum(y_true, K.epsilon()) + 1.0)
        return gap, shifted_pred

    def _elementwise(self, y_true: Any, y_pred: Any) -> Any:
        gap, _ = self._log_gap(y_true, y_pred)
        return gap**2

    def _elementwise_grad(self, y_true: Any, y_pred: Any) -> Any:
        gap, shifted_pred = self._log_gap(y_true, y_pred)
        # max(y_pred, eps) passes no gradient below eps.
        return 2.0 * gap / shifted_pred * (y_pred >= K.epsilon())


class Huber(MeanOverLastAxisLoss):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond, mean over the last axis.

    Args:
        delta: where the loss turns from quadratic to linear (default ``1.0``).
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``'huber_loss'`` (Keras's name).
        dtype: see :class:`Loss` (default ``None``).
    """

    default_name = "huber_loss"

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "huber_loss",
        dtype: Any = None,
    ) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        if not float(delta) > 0.0:
            raise ValueError(f"Huber delta must be positive. Received: delta={delta!r}")
        self.delta = float(delta)

    def _elementwise(self, y_true: Any, y_pred: Any) -> Any:
        xp = K.get_array_module(y_pred)
        error = y_pred - y_true
        abs_error = xp.abs(error)
        linear = self.delta * abs_error - 0.5 * self.delta**2
        return xp.where(abs_error <= self.delta, 0.5 * error**2, linear)

    def _elementwise_grad(self, y_true: Any, y_pred: Any) -> Any:
        return K.get_array_module(y_pred).clip(y_pred - y_true, -self.delta, self.delta)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["delta"] = self.delta
        return config


class LogCosh(MeanOverLastAxisLoss):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow.

    Keras name ``'log_cosh'``.
    """

    default_name = "log_cosh"

    def _elementwise(self, y_true: Any, y_pred: Any) -> Any:
        error = y_pred - y_true
        return error + softplus(-2.0 * error) - math.log(2.0)

    def _elementwise_grad(self, y_true: Any, y_pred: Any) -> Any:
        return K.get_array_module(y_pred).tanh(y_pred - y_true)


def _inverse_norm(x: Any) -> tuple[Any, Any]:
    """Keras's L2 normalisation factor ``min(rsqrt(sum(x**2)), 1/eps)`` and where it is capped."""
    xp = K.get_array_module(x)
    square_sum = (x * x).sum(axis=-1, keepdims=True)
    capped = square_sum <= K.epsilon() ** 2
    safe = xp.where(capped, 1.0, square_sum).astype(x.dtype)
    return xp.where(capped, 1.0 / K.epsilon(), 1.0 / xp.sqrt(safe)).astype(x.dtype), capped


class CosineSimilarity(Loss):
    """Negative cosine similarity along ``axis``: -1 means the same direction.

    Args:
        axis: the feature axis (default ``-1``).
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``'cosine_similarity'``.
        dtype: see :class:`Loss` (default ``None``).
    """

    def __init__(
        self,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "cosine_similarity",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = axis

    def call(self, y_true: Any, y_pred: Any) -> Any:
        true_unit = y_true * _inverse_norm(y_true)[0]
        return -(true_unit * y_pred * _inverse_norm(y_pred)[0]).sum(axis=-1)

    def _call_grad(self, y_true: Any, y_pred: Any) -> Any:
        true_unit = y_true * _inverse_norm(y_true)[0]
        inverse, capped = _inverse_norm(y_pred)
        projection = (true_unit * y_pred).sum(axis=-1, keepdims=True)
        # d(y * r)/dy with r = |y|^-1 adds -r^3 (t . y) y; a capped r is constant.
        return -true_unit * inverse + (projection * inverse**3 * y_pred) * ~capped

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config


def mean_squared_error(y_true: Any, y_pred: Any) -> Any:
    """``mean(square(y_true - y_pred), axis=-1)``."""
    return MeanSquaredError().values(y_true, y_pred)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Any:
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    return MeanAbsoluteError().values(y_true, y_pred)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Any:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``."""
    return MeanAbsolutePercentageError().values(y_true, y_pred)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Any:
    """``mean(square(log(y_pred + 1) - log(y_true + 1)), axis=-1)``, inputs floored at eps."""
    return MeanSquaredLogarithmicError().values(y_true, y_pred)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Negative cosine similarity along ``axis`` (default ``-1``)."""
    return CosineSimilarity(axis=axis).values(y_true, y_pred)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Any:
    """Huber loss averaged over the last axis (default ``delta=1.0``)."""
    return Huber(delta=delta).values(y_true, y_pred)


def log_cosh(y_true: Any, y_pred: Any) -> Any:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``."""
    return LogCosh().values(y_true, y_pred)
