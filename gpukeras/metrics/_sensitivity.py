"""The best value of one rate subject to a floor on another, over evenly spaced thresholds:
``SensitivityAtSpecificity``, ``SpecificityAtSensitivity``, ``PrecisionAtRecall``,
``RecallAtPrecision``. The four counts per threshold stay on the device."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.metrics._confusion_update import divide_no_nan, update_confusion_variables
from gpukeras.metrics._metric import Metric

__all__ = [
    "PrecisionAtRecall",
    "RecallAtPrecision",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
]


def _check_rate(name: str, value: Any) -> None:
    if value < 0 or value > 1:
        raise ValueError(f"Argument `{name}` must be in the range [0, 1]. Received: {name}={value}")


class _BestUnderConstraint(Metric):
    """Counts per threshold; ``result()`` maximizes ``_rates()[1]`` where ``_rates()[0]``
    reaches ``value`` (0 where no threshold does)."""

    _constraint = ""

    def __init__(
        self,
        value: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        _check_rate(self._constraint, value)
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        if num_thresholds <= 0:
            raise ValueError(
                "Argument `num_thresholds` must be an integer > 0. "
                f"Received: num_thresholds={num_thresholds}"
            )
        self.value = value
        setattr(self, self._constraint, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0, *inner, 1.0], True
        size = (len(self.thresholds),)
        for kind in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, kind, self.add_variable(size, "zeros", name=kind))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch: targets (nonzero is positive), predictions in [0, 1], weights."""
        update_confusion_variables(
            {
                "tp": self.true_positives,
                "tn": self.true_negatives,
                "fp": self.false_positives,
                "fn": self.false_negatives,
            },
            y_true,
            y_pred,
            self.thresholds,
            evenly=self._evenly,
            class_id=self.class_id,
            sample_weight=sample_weight,
        )

    def _counts(self) -> dict[str, Any]:
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        return {
            "sensitivity": divide_no_nan(tp, tp + fn),
            "recall": divide_no_nan(tp, tp + fn),
            "specificity": divide_no_nan(tn, tn + fp),
            "precision": divide_no_nan(tp, tp + fp),
        }

    def _rates(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def result(self) -> Any:
        constrained, dependent = self._rates()
        xp = K.get_array_module(dependent)
        feasible = constrained >= constrained.dtype.type(self.value)
        best = xp.where(feasible, dependent, 0).max()  # every rate is >= 0: 0 if none is feasible
        return xp.asarray(best).astype(self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._constraint: self.value,
        }


class SensitivityAtSpecificity(_BestUnderConstraint):
    """The best sensitivity (recall) at a specificity of at least ``specificity``.

    Args:
        specificity: the floor, in [0, 1].
        num_thresholds: thresholds spread evenly over [0, 1] (default ``200``).
        class_id: only this class (last-axis index) counts.
        name: default ``'sensitivity_at_specificity'``.
        dtype: default ``floatx()``.
    """

    _constraint = "specificity"

    def __init__(
        self,
        specificity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def _rates(self) -> tuple[Any, Any]:
        rates = self._counts()
        return rates["specificity"], rates["sensitivity"]


class SpecificityAtSensitivity(_BestUnderConstraint):
    """The best specificity at a sensitivity of at least ``sensitivity``.

    Args: as :class:`SensitivityAtSpecificity`, with ``sensitivity`` the floor.
    """

    _constraint = "sensitivity"

    def __init__(
        self,
        sensitivity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def _rates(self) -> tuple[Any, Any]:
        rates = self._counts()
        return rates["sensitivity"], rates["specificity"]


class PrecisionAtRecall(_BestUnderConstraint):
    """The best precision at a recall of at least ``recall``.

    Args: as :class:`SensitivityAtSpecificity`, with ``recall`` the floor.
    """

    _constraint = "recall"

    def __init__(
        self,
        recall: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def _rates(self) -> tuple[Any, Any]:
        rates = self._counts()
        return rates["recall"], rates["precision"]


class RecallAtPrecision(_BestUnderConstraint):
    """The best recall at a precision of at least ``precision``.

    Args: as :class:`SensitivityAtSpecificity`, with ``precision`` the floor.
    """

    _constraint = "precision"

    def __init__(
        self,
        precision: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def _rates(self) -> tuple[Any, Any]:
        rates = self._counts()
        return rates["precision"], rates["recall"]
