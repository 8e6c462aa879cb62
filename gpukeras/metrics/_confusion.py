"""Threshold metrics from confusion counts: true/false positives/negatives, precision, recall.

Each keeps one device counter per threshold (``add_variable``), adds a batch's counts in
``update_state`` (see _confusion_update.py) and divides in ``result()``: no host reads.
"""

from __future__ import annotations

from typing import Any

from gpukeras.metrics._confusion_update import (
    NEG_INF,
    divide_no_nan,
    evenly_distributed,
    parse_thresholds,
    update_confusion_variables,
)
from gpukeras.metrics._metric import Metric

__all__ = [
    "FalseNegatives",
    "FalsePositives",
    "Precision",
    "Recall",
    "TrueNegatives",
    "TruePositives",
]


def _one_or_all(values: Any, thresholds: list[float]) -> Any:
    """A 0-d result for a single threshold, else one value per threshold (as Keras)."""
    return values[0, ...] if len(thresholds) == 1 else values  # [0, ...]: 0-d, not a scalar


class _ConfusionCount(Metric):
    """The weighted count of one confusion-matrix cell, per threshold."""

    _kind = ""

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, default=0.5)
        self._evenly = evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable(
            shape=(len(self.thresholds),), initializer="zeros", name="accumulator"
        )

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch: targets (nonzero is positive), predictions in [0, 1], weights."""
        update_confusion_variables(
            {self._kind: self.accumulator},
            y_true,
            y_pred,
            self.thresholds,
            evenly=self._evenly,
            sample_weight=sample_weight,
        )

    def result(self) -> Any:
        return _one_or_all(self.accumulator.value, self.thresholds)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The weighted number of true positives (``y_pred > threshold`` and ``y_true``).

    Args:
        thresholds: a float or list of floats in [0, 1]; one count per threshold
            (default ``None``: 0.5).
        name: default ``'true_positives'``.
        dtype: default ``floatx()``.
    """

    _kind = "tp"


class FalsePositives(_ConfusionCount):
    """The weighted number of false positives (``y_pred > threshold``, ``y_true`` 0).

    Args: as :class:`TruePositives`.
    """

    _kind = "fp"


class TrueNegatives(_ConfusionCount):
    """The weighted number of true negatives (``y_pred <= threshold``, ``y_true`` 0).

    Args: as :class:`TruePositives`.
    """

    _kind = "tn"


class FalseNegatives(_ConfusionCount):
    """The weighted number of false negatives (``y_pred <= threshold`` and ``y_true``).

    Args: as :class:`TruePositives`.
    """

    _kind = "fn"


class _PrecisionOrRecall(Metric):
    """``tp / (tp + other)`` per threshold, where ``other`` is fp (precision) or fn (recall)."""

    _other = ""

    def __init__(
        self,
        thresholds: Any = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        # With top_k and no thresholds, every top-k prediction counts as positive.
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_thresholds(thresholds, default=default)
        self._evenly = evenly_distributed(self.thresholds)
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(size, "zeros", name="true_positives")
        other = "false_positives" if self._other == "fp" else "false_negatives"
        self._other_counts = self.add_variable(size, "zeros", name=other)
        setattr(self, other, self._other_counts)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch: targets (nonzero is positive), predictions in [0, 1], weights."""
        update_confusion_variables(
            {"tp": self.true_positives, self._other: self._other_counts},
            y_true,
            y_pred,
            self.thresholds,
            evenly=self._evenly,
            top_k=self.top_k,
            class_id=self.class_id,
            sample_weight=sample_weight,
        )

    def result(self) -> Any:
        tp = self.true_positives.value
        return _one_or_all(divide_no_nan(tp, tp + self._other_counts.value), self.thresholds)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_PrecisionOrRecall):
    """The fraction of predicted positives that are positive: ``tp / (tp + fp)``.

    Args:
        thresholds: a float or list of floats in [0, 1]: a prediction above one is positive;
            one result per threshold (default ``None``: 0.5, or with ``top_k`` every top-k
            prediction).
        top_k: only each sample's ``top_k`` largest predictions may be positive.
        class_id: only this class (last-axis index) counts.
        name: default ``'precision'``.
        dtype: default ``floatx()``.
    """

    _other = "fp"


class Recall(_PrecisionOrRecall):
    """The fraction of positives predicted positive: ``tp / (tp + fn)``.

    Args: as :class:`Precision` (name default ``'recall'``).
    """

    _other = "fn"
