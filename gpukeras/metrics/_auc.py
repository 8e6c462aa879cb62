"""``AUC``: the area under the ROC, precision-recall or PR-gain curve, from threshold counts.

The four confusion counts per threshold live on the device (see _confusion_update.py);
``result()`` sums the Riemann terms (or, for PR with interpolation, Davis & Goadrich's
closed form, as Keras) without reading anything back.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.metrics._confusion_update import (
    as_state_array,
    divide_no_nan,
    evenly_distributed,
    update_confusion_variables,
)
from gpukeras.metrics._metric import Metric

__all__ = ["AUC"]

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "majoring": "majoring", "minoring": "minoring"}


def _curve(curve: Any) -> str:
    name = getattr(curve, "value", curve)
    if (
        not isinstance(name, str)
        or name.lower() not in _CURVES
        or name
        not in (
            name.lower(),
            name.upper(),
        )
    ):
        raise ValueError(
            f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]'
        )
    return _CURVES[name.lower()]


def _summation(method: Any) -> str:
    name = getattr(method, "value", method)
    if not isinstance(name, str) or name not in (*_SUMMATIONS, *map(str.title, _SUMMATIONS)):
        raise ValueError(
            f'Invalid AUC summation method value: "{method}". '
            'Expected values are ["interpolation", "majoring", "minoring"]'
        )
    return name.lower()


class AUC(Metric):
    """Approximate area under a curve of the binary classifier ``y_pred > t`` over thresholds.

    Args:
        num_thresholds: thresholds spread evenly over [0, 1] (default ``200``; must be > 1).
        curve: ``'ROC'`` (default), ``'PR'`` or ``'PRGAIN'``.
        summation_method: ``'interpolation'`` (default), ``'minoring'`` or ``'majoring'``.
        name: default ``'auc'``.
        dtype: default ``floatx()``.
        thresholds: explicit thresholds in [0, 1] instead of ``num_thresholds``.
        multi_label: one curve per label (last axis of a 2-D ``y_pred``), then averaged;
            default False (all labels pooled).
        num_labels: the label count, to build the state before the first batch.
        label_weights: per-label weights: of the counts (pooled) or of the average
            (``multi_label``).
        from_logits: apply a sigmoid to ``y_pred`` first (default False).
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: Any = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ) -> None:
        self._direction = "up"
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            inner = sorted(thresholds)
            self._evenly = evenly_distributed([0.0, *inner, 1.0])
        else:
            if (
                isinstance(num_thresholds, bool)
                or not isinstance(num_thresholds, int)
                or (num_thresholds <= 1)
            ):
                raise ValueError(
                    "Argument `num_thresholds` must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        # Just outside [0, 1], so predictions of exactly 0 and 1 count at the end points.
        self._thresholds = [0.0 - K.epsilon(), *inner, 1.0 + K.epsilon()]
        self.curve = _curve(curve)
        self.summation_method = _summation(summation_method)
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = (
            None if label_weights is None else as_state_array(label_weights, self.dtype)
        )
        self._from_logits = from_logits
        self._built = False
        if multi_label and num_labels:
            self._build((None, num_labels))
        elif not multi_label:
            if num_labels:
                raise ValueError(
                    "`num_labels` is needed only when `multi_label` is True. "
                    f"Received: num_labels={num_labels}"
                )
            self._build(None)

    @property
    def thresholds(self) -> list[float]:
        """The thresholds evaluated, including the two just outside [0, 1]."""
        return list(self._thresholds)

    def _build(self, shape: Any) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(
                    "`y_pred` must have rank 2 when `multi_label=True`. "
                    f"Found rank {len(shape)}. Full shape received for `y_pred`: {shape}"
                )
            self._num_labels = shape[1]
            state_shape: tuple[int, ...] = (self.num_thresholds, self._num_labels)
        else:
            state_shape = (self.num_thresholds,)
        for kind in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, kind, self.add_variable(state_shape, "zeros", name=kind))
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch: targets (nonzero is positive), predictions, optional weights."""
        y_pred = as_state_array(y_pred, self.dtype)
        if not self._built:
            self._build(tuple(y_pred.shape))
        if self._from_logits:
            xp = K.get_array_module(y_pred)
            y_pred = (1 / (1 + xp.exp(-y_pred))).astype(self.dtype)
        update_confusion_variables(
            {
                "tp": self.true_positives,
                "tn": self.true_negatives,
                "fp": self.false_positives,
                "fn": self.false_negatives,
            },
            y_true,
            y_pred,
            self._thresholds,
            evenly=self._evenly,
            sample_weight=sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
        )

    def _counts(self) -> tuple[Any, Any, Any, Any]:
        return (
            self.true_positives.value,
            self.false_positives.value,
            self.true_negatives.value,
            self.false_negatives.value,
        )

    def _average_labels(self, per_threshold: Any) -> Any:
        """Sum over thresholds; with ``multi_label``, then the (weighted) mean over labels."""
        xp = K.get_array_module(per_threshold)
        if not self.multi_label:
            return per_threshold.sum()
        by_label = per_threshold.sum(axis=0)
        if self.label_weights is None:
            return by_label.mean()
        weights = K.to_device(self.label_weights)  # made under the backend active then
        return divide_no_nan((by_label * weights).sum(), xp.asarray(weights.sum()))

    def interpolate_pr_auc(self) -> Any:
        """PR AUC with precision interpolated between thresholds (Davis & Goadrich 2006):
        TP and P = TP + FP vary linearly in each interval, so the area has a closed form
        ``slope * (dTP + intercept * log(P_A / P_B)) / total positives``."""
        xp = K.array_module()
        tp, fp, _, fn = self._counts()
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, xp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = xp.where(both_positive, divide_no_nan(p[:-1], xp.maximum(p[1:], 0)), 1)
        ratio = ratio.astype(p.dtype)
        increments = divide_no_nan(
            slope * (dtp + intercept * xp.log(ratio)), xp.maximum(tp[1:] + fn[1:], 0)
        )
        return self._average_labels(increments)

    def _curve_points(self) -> tuple[Any, Any]:
        """The curve's (x, y) at each threshold."""
        xp = K.array_module()
        tp, fp, tn, fn = self._counts()
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            return divide_no_nan(fp, fp + tn), recall
        if self.curve == "PR":
            return recall, divide_no_nan(tp, tp + fp)
        scaling = divide_no_nan(tp + fn, tn + fp)
        no_tp = tp == 0
        recall_gain = xp.where(no_tp, 0.0, 1.0 - scaling * divide_no_nan(fn, tp))
        precision_gain = xp.where(no_tp, 1.0, 1.0 - scaling * divide_no_nan(fp, tp))
        return xp.maximum(recall_gain, 0.0).astype(tp.dtype), precision_gain.astype(tp.dtype)

    def result(self) -> Any:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._as_result(self.interpolate_pr_auc())
        xp = K.array_module()
        x, y = self._curve_points()
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = xp.minimum(y[:-1], y[1:])
        else:
            heights = xp.maximum(y[:-1], y[1:])
        return self._as_result(self._average_labels((x[:-1] - x[1:]) * heights))

    def _as_result(self, value: Any) -> Any:
        return K.array_module().asarray(value).astype(self.dtype)

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict[str, Any]:
        weights = self.label_weights
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if weights is None else K.to_host(weights).tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
