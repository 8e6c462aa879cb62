"""Metric classes that average a loss per sample (Keras 3 names and defaults)."""

from __future__ import annotations

from typing import Any

from gpukeras import losses
from gpukeras.metrics._metric import MeanMetricWrapper

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
]


class LossMetric(MeanMetricWrapper):
    """The running mean of ``loss.per_sample`` for a loss built from ``loss_kwargs``.

    Args:
        name: default ``None``: the subclass's ``default_name``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
        **loss_kwargs: arguments of the loss (e.g. ``from_logits``).
    """

    loss_class: type[losses.Loss] = losses.Loss
    default_name = ""

    def __init__(self, name: str | None = None, dtype: Any = None, **loss_kwargs: Any) -> None:
        self.loss = self.loss_class(**loss_kwargs)
        super().__init__(self.loss.per_sample, name=name or self.default_name, dtype=dtype)
        self._loss_kwargs = loss_kwargs

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, **self._loss_kwargs}


def _simple(class_name: str, loss_class: type[losses.Loss], default_name: str) -> type:
    """A LossMetric subclass with Keras's ``(name=default_name, dtype=None)`` signature."""

    def __init__(self: LossMetric, name: str = default_name, dtype: Any = None) -> None:
        LossMetric.__init__(self, name=name, dtype=dtype)

    doc = (
        f"Running mean of the per-sample ``{loss_class.__name__}`` loss.\n\n"
        f"    Args:\n        name: default ``'{default_name}'``.\n"
        "        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).\n"
    )
    namespace = {
        "__init__": __init__,
        "__doc__": doc,
        "__module__": __name__,
        "loss_class": loss_class,
        "default_name": default_name,
    }
    return type(class_name, (LossMetric,), namespace)


MeanSquaredError = _simple("MeanSquaredError", losses.MeanSquaredError, "mean_squared_error")
MeanAbsoluteError = _simple("MeanAbsoluteError", losses.MeanAbsoluteError, "mean_absolute_error")
MeanAbsolutePercentageError = _simple(
    "MeanAbsolutePercentageError",
    losses.MeanAbsolutePercentageError,
    "mean_absolute_percentage_error",
)
MeanSquaredLogarithmicError = _simple(
    "MeanSquaredLogarithmicError",
    losses.MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error",
)
LogCoshError = _simple("LogCoshError", losses.LogCosh, "logcosh")
KLDivergence = _simple("KLDivergence", losses.KLDivergence, "kl_divergence")
Poisson = _simple("Poisson", losses.Poisson, "poisson")
Hinge = _simple("Hinge", losses.Hinge, "hinge")
SquaredHinge = _simple("SquaredHinge", losses.SquaredHinge, "squared_hinge")
CategoricalHinge = _simple("CategoricalHinge", losses.CategoricalHinge, "categorical_hinge")


class BinaryCrossentropy(LossMetric):
    """Running mean of binary crossentropy.

    Args:
        name: default ``'binary_crossentropy'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
        from_logits: default ``False``.
        label_smoothing: default ``0``.
    """

    loss_class = losses.BinaryCrossentropy

    def __init__(
        self,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
    ) -> None:
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(LossMetric):
    """Running mean of categorical crossentropy.

    Args:
        name: default ``'categorical_crossentropy'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
        from_logits: default ``False``.
        label_smoothing: default ``0``.
        axis: default ``-1``.
    """

    loss_class = losses.CategoricalCrossentropy

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
        axis: int = -1,
    ) -> None:
        super().__init__(
            name, dtype, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis
        )


class SparseCategoricalCrossentropy(LossMetric):
    """Running mean of sparse categorical crossentropy.

    Args:
        name: default ``'sparse_categorical_crossentropy'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
        from_logits: default ``False``.
        ignore_class: a label that contributes nothing (default ``None``).
        axis: the class axis; only the last (default ``-1``) is supported.
    """

    loss_class = losses.SparseCategoricalCrossentropy

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ) -> None:
        if axis != -1:
            raise ValueError(
                f"SparseCategoricalCrossentropy supports only axis=-1. Received: axis={axis!r}"
            )
        super().__init__(name, dtype, from_logits=from_logits, ignore_class=ignore_class)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class CosineSimilarity(LossMetric):
    """Running mean of the cosine similarity (positive: 1 means the same direction).

    Args:
        name: default ``'cosine_similarity'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
        axis: default ``-1``.
    """

    loss_class = losses.CosineSimilarity

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(name, dtype, axis=axis)
        # The loss is the negative similarity; the metric reports the similarity itself.
        loss_per_sample = self.loss.per_sample
        self._fn = lambda y_true, y_pred: -loss_per_sample(y_true, y_pred)
