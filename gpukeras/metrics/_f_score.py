"""``FBetaScore`` and ``F1Score``: per-class (or pooled) F-scores from device counters."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.metrics._confusion_update import as_state_array
from gpukeras.metrics._metric import Metric

__all__ = ["F1Score", "FBetaScore"]

_AVERAGES = (None, "micro", "macro", "weighted")


def _check(average: Any, beta: Any, threshold: Any) -> None:
    if average not in _AVERAGES:
        raise ValueError(
            "Invalid `average` argument value. Expected one of: "
            f"{{None, 'micro', 'macro', 'weighted'}}. Received: average={average}"
        )
    if not isinstance(beta, float):
        raise ValueError(
            "Invalid `beta` argument value. It should be a Python float. "
            f"Received: beta={beta} of type '{type(beta)}'"
        )
    if beta <= 0.0:
        raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
    if threshold is None:
        return
    if not isinstance(threshold, float):
        raise ValueError(
            "Invalid `threshold` argument value. It should be a Python float. "
            f"Received: threshold={threshold} of type '{type(threshold)}'"
        )
    if threshold > 1.0 or threshold <= 0.0:
        raise ValueError(
            "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
            f"Received: threshold={threshold}"
        )


class FBetaScore(Metric):
    """The F-beta score: ``(1 + beta**2) * precision * recall / (beta**2 * precision + recall)``.

    Works for multi-class (one-hot) and multi-label targets of shape ``(batch, classes)``.

    Args:
        average: ``None`` (default: one score per class), ``'micro'`` (counts pooled over
            classes), ``'macro'`` (mean of the class scores) or ``'weighted'`` (mean weighted
            by each class's positives).
        beta: weight of recall against precision, a float > 0 (default ``1.0``).
        threshold: predictions above it are positive (a float in (0, 1]); default ``None``:
            each sample's largest prediction is positive.
        name: default ``'fbeta_score'``.
        dtype: default ``floatx()``.
    """

    def __init__(
        self,
        average: str | None = None,
        beta: float = 1.0,
        threshold: float | None = None,
        name: str = "fbeta_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        _check(average, beta, threshold)
        self.average = average
        self.beta = beta
        self.threshold = threshold
        # 'micro' pools the classes (axis None); the others count per class (axis 0).
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, true_shape: tuple[int, ...], pred_shape: tuple[int, ...]) -> None:
        if len(pred_shape) != 2 or len(true_shape) != 2:
            raise ValueError(
                "FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received "
                f"input shapes: y_pred.shape={pred_shape} and y_true.shape={true_shape}."
            )
        if pred_shape[-1] is None or true_shape[-1] is None:
            raise ValueError(
                "FBetaScore expects 2D inputs with shape (batch_size, output_dim), with "
                "output_dim fully defined (not None). Received input shapes: "
                f"y_pred.shape={pred_shape} and y_true.shape={true_shape}."
            )
        shape = () if self.average == "micro" else (pred_shape[-1],)
        for name in (
            "true_positives",
            "false_positives",
            "false_negatives",
            "intermediate_weights",
        ):
            setattr(self, name, self.add_variable(shape, "zeros", name=name))
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch: 0/1 targets, scores, optional per-sample weights."""
        y_true = as_state_array(y_true, self.dtype)
        y_pred = as_state_array(y_pred, self.dtype)
        if not self._built:
            self._build(tuple(y_true.shape), tuple(y_pred.shape))
        xp = K.get_array_module(y_pred)
        if self.threshold is None:
            top = y_pred.max(axis=-1, keepdims=True)
            predicted = (y_pred >= top) & (xp.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(self.dtype)
        weights = None if sample_weight is None else as_state_array(sample_weight, self.dtype)

        def weighted_sum(values: Any) -> Any:
            if weights is not None:
                values = values * weights[:, None]
            return values.sum(axis=self.axis)

        self.true_positives.assign_add(weighted_sum(predicted * y_true))
        self.false_positives.assign_add(weighted_sum(predicted * (1 - y_true)))
        self.false_negatives.assign_add(weighted_sum((1 - predicted) * y_true))
        self.intermediate_weights.assign_add(weighted_sum(y_true))

    def result(self) -> Any:
        xp = K.array_module()
        if not self._built:
            return xp.zeros((), dtype=self.dtype)
        epsilon = K.epsilon()
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + epsilon)
        recall = tp / (tp + self.false_negatives.value + epsilon)
        beta_squared = self.beta**2
        score = precision * recall / (beta_squared * precision + recall + epsilon)
        score = score * (1 + beta_squared)
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            score = (score * (weights / (weights.sum() + epsilon))).sum()
        elif self.average is not None:
            score = score.mean()
        return xp.asarray(score).astype(self.dtype)

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """The F-1 score, the harmonic mean of precision and recall (``FBetaScore`` with beta 1).

    Args:
        average: as :class:`FBetaScore` (default ``None``: one score per class).
        threshold: as :class:`FBetaScore` (default ``None``: the largest prediction).
        name: default ``'f1_score'``.
        dtype: default ``floatx()``.
    """

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
