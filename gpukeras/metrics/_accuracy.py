"""Accuracy metrics: per-sample functions (shape ``(N,)``) and their Keras classes."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.losses._loss import align_ranks, as_float_array, shape_mismatch
from gpukeras.metrics._metric import MeanMetricWrapper, reduce_per_sample

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]


def _aligned(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Float predictions, targets in the same dtype, ranks aligned and shapes checked."""
    y_pred = as_float_array(y_pred)
    y_true, y_pred = align_ranks(K.to_device(y_true, dtype=y_pred.dtype), y_pred)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise shape_mismatch(y_true, y_pred)
    return y_true, y_pred


def _sparse_labels(y_true: Any, y_pred: Any) -> Any:
    """Class labels shaped ``y_pred.shape[:-1]`` (a trailing axis of 1 is dropped)."""
    labels = K.to_device(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if y_pred.ndim < 2 or tuple(labels.shape) != tuple(y_pred.shape[:-1]):
        detail = f": sparse labels need shape {tuple(y_pred.shape[:-1])} (or with a trailing 1)"
        raise shape_mismatch(labels, y_pred, detail)
    return labels


def _matches(hits: Any, dtype: Any) -> Any:
    return reduce_per_sample(hits.astype(dtype))


def accuracy(y_true: Any, y_pred: Any) -> Any:
    """Per-sample fraction of elements where ``y_pred == y_true`` exactly."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return _matches(y_true == y_pred, y_pred.dtype)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Any:
    """Per-sample fraction of elements where ``(y_pred > threshold) == y_true``.

    Default ``threshold=0.5``.
    """
    y_true, y_pred = _aligned(y_true, y_pred)
    predicted = (y_pred > float(threshold)).astype(y_pred.dtype)
    return _matches(y_true == predicted, y_pred.dtype)


def categorical_accuracy(y_true: Any, y_pred: Any) -> Any:
    """Per-sample: whether ``argmax(y_pred) == argmax(y_true)`` (one-hot targets)."""
    y_pred = as_float_array(y_pred)
    y_true = K.to_device(y_true)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise shape_mismatch(y_true, y_pred)
    return _matches(y_true.argmax(axis=-1) == y_pred.argmax(axis=-1), y_pred.dtype)


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Any:
    """Per-sample: whether ``argmax(y_pred)`` equals the integer label in ``y_true``."""
    y_pred = as_float_array(y_pred)
    labels = _sparse_labels(y_true, y_pred)
    return _matches(labels == y_pred.argmax(axis=-1), y_pred.dtype)


def _in_top_k(labels: Any, y_pred: Any, k: int) -> Any:
    """Whether each label's score is among the ``k`` largest (ties count in its favour)."""
    xp = K.get_array_module(y_pred)
    num_classes = y_pred.shape[-1]
    in_range = (labels >= 0) & (labels < num_classes)
    safe = xp.clip(labels, 0, num_classes - 1).astype("int64")
    target = xp.take_along_axis(y_pred, safe[..., None], axis=-1)
    # A NaN score is never a top score.
    target = xp.where(xp.isnan(target), -xp.inf, target)
    rank = 1 + (y_pred > target).sum(axis=-1)
    return (rank <= int(k)) & in_range


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Any:
    """Per-sample: whether the one-hot target's class is in the top ``k`` (default 5)."""
    y_pred = as_float_array(y_pred)
    y_true = K.to_device(y_true)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise shape_mismatch(y_true, y_pred)
    return _matches(_in_top_k(y_true.argmax(axis=-1), y_pred, k), y_pred.dtype)


def sparse_top_k_categorical_accuracy(
    y_true: Any, y_pred: Any, k: int = 5, from_sorted_ids: bool = False
) -> Any:
    """Per-sample: whether the integer label is in the top ``k`` predictions (default 5).

    With ``from_sorted_ids=True``, ``y_pred`` holds class ids, best first (as ``top_k``
    returns them): the label must be among the first ``k``.
    """
    if from_sorted_ids:
        ids = K.to_device(y_pred)
        labels = _sparse_labels(y_true, ids)
        hits = (ids[..., : int(k)] == labels[..., None].astype(ids.dtype)).any(axis=-1)
        return _matches(hits, K.floatx())
    y_pred = as_float_array(y_pred)
    labels = _sparse_labels(y_true, y_pred)
    if labels.dtype.kind != "i":
        labels = labels.astype("int64")
    return _matches(_in_top_k(labels, y_pred, k), y_pred.dtype)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal targets exactly.

    Args:
        name: default ``'accuracy'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often thresholded predictions match binary targets.

    Args:
        name: default ``'binary_accuracy'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
        threshold: predictions above it count as 1 (default ``0.5``).
    """

    def __init__(
        self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5
    ) -> None:
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted class matches the one-hot target.

    Args:
        name: default ``'categorical_accuracy'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted class matches the integer label.

    Args:
        name: default ``'sparse_categorical_accuracy'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the top ``k`` predictions.

    Args:
        k: how many top predictions count (default ``5``).
        name: default ``'top_k_categorical_accuracy'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
    """

    def __init__(
        self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None
    ) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the top ``k`` predictions.

    Args:
        k: how many top predictions count (default ``5``).
        name: default ``'sparse_top_k_categorical_accuracy'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
        from_sorted_ids: ``y_pred`` holds class ids, best first, not scores (default False).
    """

    def __init__(
        self,
        k: int = 5,
        name: str = "sparse_top_k_categorical_accuracy",
        dtype: Any = None,
        from_sorted_ids: bool = False,
    ) -> None:
        # Keras writes from_sorted_ids into the config only when it is set.
        sorted_ids = {"from_sorted_ids": True} if from_sorted_ids else {}
        super().__init__(
            sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k, **sorted_ids
        )
        self.k = k
        self.from_sorted_ids = from_sorted_ids
