"""MonitorCallback: the shared "is this value an improvement?" logic of Keras 3.

ModelCheckpoint, EarlyStopping and ReduceLROnPlateau watch one entry of the
logs (``monitor``) and need to know whether a new value beats a reference.
``mode`` says in which direction; ``'auto'`` infers it from the name.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any

from gpukeras.callbacks._callback import Callback

_MODES = ("auto", "min", "max")

# Metric names (after stripping ``val_``) whose best value is the highest.
_MAXIMIZED = {
    "acc",
    "auc",
    "precision",
    "recall",
    "f1_score",
    "fbeta_score",
    "r2_score",
    "cosine_similarity",
    "true_positives",
    "true_negatives",
    "mean_iou",
    "iou",
    "precision_at_recall",
    "recall_at_precision",
    "sensitivity_at_specificity",
    "specificity_at_sensitivity",
}
# Metric names (after stripping ``val_``) whose best value is the lowest.
_MINIMIZED = {
    "mse",
    "mae",
    "mape",
    "msle",
    "rmse",
    "kld",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "root_mean_squared_error",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "kl_divergence",
    "kullback_leibler_divergence",
    "poisson",
    "log_cosh",
    "logcosh",
    "false_positives",
    "false_negatives",
}


def infer_mode(monitor: str, model: Any = None) -> str | None:
    """``'min'`` or ``'max'`` for the metric called ``monitor``, or ``None`` if unknown.

    Follows Keras 3: strip ``val_``; ``loss`` is minimised; a compiled metric
    with a ``_direction`` of ``'up'``/``'down'`` decides; otherwise gpukeras
    knows the directions of Keras's built-in metric names.

    Args:
        monitor: The logs key, e.g. ``'val_accuracy'``.
        model: The model whose ``metrics`` may carry a ``_direction``; default ``None``.
    """
    name = monitor.removeprefix("val_")
    if name == "loss":
        return "min"
    for metric in _model_metrics(model):
        if getattr(metric, "name", None) == name and hasattr(metric, "_direction"):
            return "max" if metric._direction == "up" else "min"
    # A model with several outputs logs ``<output>_<metric>`` (``cls_accuracy``, ``reg_mae``).
    # Keras 3.15 cannot infer those; gpukeras does, from the metric's name after the output's.
    if _named(name, _MAXIMIZED) or name.endswith(("accuracy", "_acc")) or name.startswith("auc"):
        return "max"
    if _named(name, _MINIMIZED) or name.endswith(("loss", "crossentropy")):
        return "min"
    return None


def _named(name: str, known: set[str]) -> bool:
    """``name`` is one of ``known``, alone or after an output's name and ``_``."""
    return name in known or any(name.endswith(f"_{metric}") for metric in known)


def _model_metrics(model: Any) -> list[Any]:
    """The model's metric objects, flattening Keras-style metric containers."""
    try:
        metrics = list(getattr(model, "metrics", None) or [])
    except Exception:  # a model that is not compiled yet may refuse
        return []
    found = []
    for metric in metrics:
        found.extend(getattr(metric, "metrics", None) or [metric])
    return found


class MonitorCallback(Callback):
    """Base class of callbacks that compare a monitored value against a reference.

    Args:
        monitor: Logs key to watch; default ``'val_loss'``.
        mode: ``'auto'``, ``'min'`` or ``'max'``; default ``'auto'``. An unknown
            string warns and falls back to ``'auto'``.
        baseline: Initial value of ``best``; default ``None`` (the first value
            always improves).
        min_delta: Smallest change that counts as an improvement (its absolute
            value is used); default ``0``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        baseline: float | None = None,
        min_delta: float = 0,
    ) -> None:
        super().__init__()
        if mode not in _MODES:
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable[[Any, Any], bool] | None = None

    def _set_monitor_op(self) -> None:
        """Choose ``monitor_op`` (``<`` or ``>``) from ``mode``, inferring it for ``'auto'``."""
        mode = self.mode if self.mode != "auto" else infer_mode(self.monitor, self.model)
        if mode is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but "
                "gpukeras isn't able to automatically determine whether that metric should "
                "be maximized or minimized. Pass `mode='max'` in order to monitor based on "
                "the highest metric value, or pass `mode='min'` in order to use the lowest "
                "value."
            )
        self.monitor_op = operator.lt if mode == "min" else operator.gt

    @property
    def _minimizing(self) -> bool:
        if self.monitor_op is None:
            self._set_monitor_op()
        return self.monitor_op is operator.lt

    def _is_improvement(self, current: Any, reference: Any) -> bool:
        """Whether ``current`` beats ``reference`` by more than ``min_delta`` (strictly)."""
        if reference is None:
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        # Keras's rule: current - min_delta > reference (max) or
        # current + min_delta < reference (min).
        delta = -self.min_delta if self._minimizing else self.min_delta
        return bool(self.monitor_op(current - delta, reference))
