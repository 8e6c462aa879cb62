"""Regression metrics whose result is not a mean of per-sample values: ``RootMeanSquaredError``,
``Sum`` and ``R2Score``, with their state on the device."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.metrics._confusion_update import as_state_array, same_rank
from gpukeras.metrics._metric import Metric, samplewise

__all__ = ["R2Score", "RootMeanSquaredError", "Sum"]


class RootMeanSquaredError(Metric):
    """``sqrt(mean((y_pred - y_true) ** 2))`` over everything seen (weighted).

    The sums are float64 device variables (so ``BackupAndRestore`` keeps them mid-epoch).

    Args:
        name: default ``'root_mean_squared_error'``.
        dtype: default ``floatx()``.
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"
        self.total = self.add_variable((), "zeros", dtype="float64", name="total")
        self.count = self.add_variable((), "zeros", dtype="float64", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch's squared errors (first axis = samples; other axes averaged)."""
        y_true = as_state_array(y_true, self.dtype)
        y_pred = as_state_array(y_pred, self.dtype)
        y_true, y_pred = same_rank(y_true, y_pred)
        per_sample, weights = samplewise((y_pred - y_true) ** 2, sample_weight)
        if weights is not None:
            count: Any = weights.sum(dtype="float64")
        else:
            count = float(per_sample.shape[0]) if per_sample.ndim else 1.0
        self.total.assign_add(per_sample.sum(dtype="float64"))
        self.count.assign_add(count)

    def result(self) -> Any:
        xp = K.array_module()
        total, count = self.total.value, self.count.value
        mean = xp.where(count == 0, 0.0, total / xp.where(count == 0, 1.0, count))
        return xp.asarray(xp.sqrt(mean)).astype(self.dtype)


class Sum(Metric):
    """The (weighted) sum of the values passed to ``update_state``.

    Args:
        name: default ``'sum'``.
        dtype: default ``floatx()``.
    """

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add ``values``, each times its weight (a weight per sample covers its row)."""
        values = as_state_array(values, self.dtype)
        if sample_weight is not None:
            weights = as_state_array(sample_weight, self.dtype)
            values, weights = same_rank(values, weights)
            if values.ndim > weights.ndim:
                values = values.sum(axis=tuple(range(weights.ndim, values.ndim)))
            values = values * K.get_array_module(values).broadcast_to(weights, values.shape)
        self.total.assign_add(values.sum())

    def result(self) -> Any:
        return self.total.value.copy()


_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """The coefficient of determination, per output column, then aggregated.

    Args:
        class_aggregation: ``'uniform_average'`` (default: the columns' mean),
            ``'variance_weighted_average'`` (weighted by each column's variance) or ``None``
            (one score per column).
        num_regressors: for the adjusted R2 (default ``0``: plain R2). Where it is not
            below ``samples - 1`` the plain score is returned, as Keras does (Keras also
            warns; that would need a host read per step).
        name: default ``'r2_score'``.
        dtype: default ``floatx()``.
    """

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                "Invalid value for argument `class_aggregation`. Expected one of "
                f"{_AGGREGATIONS}. Received: class_aggregation={class_aggregation}"
            )
        if num_regressors < 0:
            raise ValueError(
                "Invalid value for argument `num_regressors`. Expected a value >= 0. "
                f"Received: num_regressors={num_regressors}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), "zeros", name="num_samples")
        self._built = False

    def _build(self, true_shape: tuple[int, ...], pred_shape: tuple[int, ...]) -> None:
        if len(pred_shape) != 2 or len(true_shape) != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received "
                f"input shapes: y_pred.shape={pred_shape} and y_true.shape={true_shape}."
            )
        columns = (pred_shape[-1],)
        self.squared_sum = self.add_variable(columns, "zeros", name="squared_sum")
        self.sum = self.add_variable(columns, "zeros", name="sum")
        self.total_mse = self.add_variable(columns, "zeros", name="residual")
        self.count = self.add_variable(columns, "zeros", name="count")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch of ``(samples, outputs)`` targets and predictions."""
        y_true = as_state_array(y_true, self.dtype)
        y_pred = as_state_array(y_pred, self.dtype)
        y_true, y_pred = same_rank(y_true, y_pred)
        if not self._built:
            self._build(tuple(y_true.shape), tuple(y_pred.shape))
        xp = K.get_array_module(y_true)
        weights = xp.ones((), self.dtype) if sample_weight is None else sample_weight
        weights = as_state_array(weights, self.dtype)
        if weights.ndim == 1:
            weights = weights[:, None]
        weights = xp.broadcast_to(weights, y_true.shape)
        weighted = y_true * weights
        self.sum.assign_add(weighted.sum(axis=0))
        self.squared_sum.assign_add((y_true * weighted).sum(axis=0))
        self.total_mse.assign_add(((y_true - y_pred) ** 2 * weights).sum(axis=0))
        self.count.assign_add(weights.sum(axis=0))
        self.num_samples.assign_add(y_true.size)

    def result(self) -> Any:
        xp = K.array_module()
        if not self._built:
            return xp.zeros((), self.dtype)
        mean = self.sum.value / self.count.value
        total = self.squared_sum.value - self.sum.value * mean
        raw = 1 - self.total_mse.value / total
        raw = xp.where(xp.isinf(raw), 0.0, raw).astype(self.dtype)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            n = self.num_samples.value.astype("float32")
            p = self.num_regressors
            adjusted = 1 - (1 - score) * (n - 1) / (n - p - 1)
            score = xp.where(p < n - 1, adjusted, score)
        return xp.asarray(score).astype(self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
