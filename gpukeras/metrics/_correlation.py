"""Correlation metrics: a per-sample coefficient along ``axis``, averaged like every
per-sample metric (Keras 3's ``PearsonCorrelation`` and ``ConcordanceCorrelation``)."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.losses._loss import as_float_array
from gpukeras.metrics._confusion_update import same_rank
from gpukeras.metrics._metric import MeanMetricWrapper

__all__ = [
    "ConcordanceCorrelation",
    "PearsonCorrelation",
    "concordance_correlation",
    "pearson_correlation",
]


def _aligned(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    y_pred = as_float_array(y_pred)
    y_true = K.to_device(y_true).astype(y_pred.dtype)
    return same_rank(y_true, y_pred)


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Pearson's coefficient between ``y_true`` and ``y_pred`` along ``axis`` (default -1)."""
    y_true, y_pred = _aligned(y_true, y_pred)
    true_centred = y_true - y_true.mean(axis=axis, keepdims=True)
    pred_centred = y_pred - y_pred.mean(axis=axis, keepdims=True)
    true_centred = true_centred / true_centred.std(axis=axis, keepdims=True)
    pred_centred = pred_centred / pred_centred.std(axis=axis, keepdims=True)
    return (true_centred * pred_centred).mean(axis=axis)


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """Lin's concordance coefficient along ``axis`` (default -1), with Keras 3's formula
    (its covariance term centres ``y_true`` on ``y_pred``'s mean, and so does this)."""
    y_true, y_pred = _aligned(y_true, y_pred)
    true_mean = y_true.mean(axis=axis, keepdims=True)
    pred_mean = y_pred.mean(axis=axis, keepdims=True)
    true_var = (y_true - true_mean).var(axis=axis, keepdims=True)
    pred_var = (y_pred - pred_mean).var(axis=axis, keepdims=True)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + (true_mean - pred_mean) ** 2
    return (2 * covariance / (norm + K.epsilon())).mean(axis=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """The mean of the per-sample Pearson coefficients.

    Args:
        name: default ``'pearson_correlation'``.
        dtype: default ``floatx()``.
        axis: the axis of each sample's values (default ``-1``).
    """

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
        self._direction = "up"


class ConcordanceCorrelation(MeanMetricWrapper):
    """The mean of the per-sample concordance coefficients.

    Args:
        name: default ``'concordance_correlation'``.
        dtype: default ``floatx()``.
        axis: the axis of each sample's values (default ``-1``).
    """

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
        self._direction = "up"
