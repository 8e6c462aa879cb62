"""Confusion-matrix counts per threshold, accumulated on the device (Keras's metrics_utils).

``update_confusion_variables`` adds one batch's weighted true/false positive/negative counts
to state variables of shape ``(num_thresholds,)`` (or ``(num_thresholds, num_labels)`` for a
multi-label AUC). A prediction counts as positive at threshold ``t`` when ``y_pred > t``.
Evenly spaced thresholds (AUC's default) use buckets and a reversed cumulative sum instead
of comparing every prediction with every threshold, as Keras does: memory ``O(N)``, and the
same rounding as Keras at the bucket edges. Nothing is read on the host.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy

from gpukeras import backend as K

__all__ = [
    "NEG_INF",
    "as_state_array",
    "divide_no_nan",
    "evenly_distributed",
    "parse_thresholds",
    "update_confusion_variables",
]

# Keras's stand-in for "-infinity" when top_k filters predictions.
NEG_INF = -1e10
KINDS = ("tp", "fp", "tn", "fn")


def parse_thresholds(thresholds: Any, default: float = 0.5) -> list[float]:
    """``thresholds`` as a list (``None``: ``[default]``), each checked to lie in [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    invalid = [t for t in values if t is None or not 0 <= t <= 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return values


def evenly_distributed(thresholds: Sequence[float]) -> bool:
    """Whether ``thresholds`` are ``i / (n - 1)`` for ``i = 0..n-1`` (n >= 3), up to epsilon."""
    count = len(thresholds)
    if count < 3:
        return False
    even = numpy.arange(count, dtype=numpy.float32) / (count - 1)
    return bool(numpy.allclose(thresholds, even, atol=K.epsilon()))


def as_state_array(value: Any, dtype: Any) -> Any:
    """A batch input (array, list, Tensor or Variable) on the device in ``dtype``."""
    from gpukeras import autodiff

    return K.to_device(autodiff.unwrap(value)).astype(dtype)


def same_rank(x1: Any, x2: Any, expand_rank_1: bool = True) -> tuple[Any, Any]:
    """Keras's squeeze_or_expand_to_same_rank: close a rank gap of one trailing unit axis."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            return x1, x2[..., None]
        return x1[..., 0], x2
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            return x1[..., None], x2
        return x1, x2[..., 0]
    return x1, x2


def filter_top_k(x: Any, k: int) -> Any:
    """``x`` with all but the ``k`` largest values of its last axis set to ``NEG_INF``
    (ties go to the lower index, as a stable sort orders them)."""
    xp = K.get_array_module(x)
    order = xp.argsort(-x, axis=-1, kind="stable")
    rank = xp.argsort(order, axis=-1, kind="stable")
    keep = (rank < int(k)).astype(x.dtype)
    return x * keep + (1 - keep) * NEG_INF


def update_confusion_variables(
    variables: dict[str, Any],
    y_true: Any,
    y_pred: Any,
    thresholds: Sequence[float],
    evenly: bool = False,
    top_k: int | None = None,
    class_id: int | None = None,
    sample_weight: Any = None,
    multi_label: bool = False,
    label_weights: Any = None,
) -> None:
    """Add one batch's counts to ``variables`` (keys among ``'tp' 'fp' 'tn' 'fn'``).

    Args:
        variables: state variables by kind; all share one float dtype.
        y_true: targets, cast to bool (nonzero is positive).
        y_pred: predictions in [0, 1].
        thresholds: one count per threshold.
        evenly: the thresholds are evenly spaced (see :func:`evenly_distributed`).
        top_k: only each sample's ``k`` largest predictions may count as positive.
        class_id: count only this class (the last axis's index).
        sample_weight: broadcastable to ``y_pred``; default weight 1.
        multi_label: keep the label axis (AUC's ``multi_label``): counts per label.
        label_weights: per-label weights (not with ``multi_label``).
    """
    dtype = next(iter(variables.values())).dtype
    y_true = as_state_array(y_true, dtype)
    y_pred = as_state_array(y_pred, dtype)
    y_pred, y_true = same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = as_state_array(sample_weight, dtype)[..., None]
        _, sample_weight = same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {tuple(y_pred.shape)}"
            )
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    weights = _weights(y_pred, sample_weight, label_weights, multi_label)
    if evenly:
        counts = _bucketed_counts(y_true, y_pred, weights, thresholds, multi_label)
    else:
        counts = _compared_counts(y_true, y_pred, weights, thresholds, multi_label)
    for kind, variable in variables.items():
        variable.assign(variable.value + counts[kind].astype(dtype))


def _weights(y_pred: Any, sample_weight: Any, label_weights: Any, multi_label: bool) -> Any:
    """Per-prediction weights shaped like ``y_pred`` (``None``: all 1)."""
    xp = K.get_array_module(y_pred)
    weights = None
    if sample_weight is not None:
        weights = xp.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None and not multi_label:
        labels = xp.broadcast_to(K.to_device(label_weights).astype(y_pred.dtype), y_pred.shape)
        weights = labels if weights is None else weights * labels
    return weights


def _bucketed_counts(
    y_true: Any, y_pred: Any, weights: Any, thresholds: Sequence[float], multi_label: bool
) -> dict[str, Any]:
    """Counts for evenly spaced thresholds: each prediction falls in one bucket
    ``ceil(p * (n - 1)) - 1``; the count at threshold ``i`` sums buckets ``>= i``."""
    xp = K.get_array_module(y_pred)
    count = len(thresholds)
    with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
    y_pred = xp.clip(y_pred, 0.0, 1.0)
    positive = (y_true != 0).astype(y_pred.dtype)
    if weights is None:
        weights = xp.ones_like(y_pred)
    true_labels = positive * weights
    false_labels = (1 - positive) * weights
    bucket = xp.ceil(y_pred * y_pred.dtype.type(count - 1)) - 1
    if with_epsilon:
        # Every prediction in [0, 1] exceeds the leading -epsilon threshold.
        bucket = xp.maximum(bucket, 0)
    bucket = bucket.astype("int64")
    labels = y_pred.shape[-1] if multi_label else 1
    if multi_label:
        bucket = bucket + xp.arange(labels, dtype="int64") * count  # one segment set per label
    # A bucket of -1 (at or below a threshold of exactly 0) counts at no threshold.
    valid = bucket >= 0 if not with_epsilon else None
    tp = _reversed_cumsum(_segment_sums(true_labels, bucket, valid, count * labels), count)
    fp = _reversed_cumsum(_segment_sums(false_labels, bucket, valid, count * labels), count)
    totals_true = true_labels.reshape(-1, labels).sum(axis=0, dtype="float64")
    totals_false = false_labels.reshape(-1, labels).sum(axis=0, dtype="float64")
    counts = {"tp": tp, "fp": fp, "fn": totals_true - tp, "tn": totals_false - fp}
    if not multi_label:
        counts = {kind: value[:, 0] for kind, value in counts.items()}
    return counts


def _segment_sums(values: Any, bucket: Any, valid: Any, size: int) -> Any:
    xp = K.get_array_module(values)
    values = values.reshape(-1).astype("float64")
    bucket = bucket.reshape(-1)
    if valid is not None:
        valid = valid.reshape(-1)
        values = xp.where(valid, values, 0.0)
        bucket = xp.where(valid, bucket, 0)
    return xp.bincount(bucket, weights=values, minlength=size)[:size]


def _reversed_cumsum(sums: Any, count: int) -> Any:
    """``(count, labels)``: at threshold ``i``, the sum of buckets ``i..count-1``."""
    per_label = sums.reshape(-1, count)
    return per_label[:, ::-1].cumsum(axis=1)[:, ::-1].T


@functools.lru_cache(maxsize=64)
def _device_thresholds(thresholds: tuple[float, ...], dtype: str, backend_name: str) -> Any:
    """The thresholds on the device, made once (not copied to the device every batch)."""
    del backend_name  # part of the cache key: one array per backend
    return K.to_device(numpy.asarray(thresholds, dtype=dtype))


def _compared_counts(
    y_true: Any, y_pred: Any, weights: Any, thresholds: Sequence[float], multi_label: bool
) -> dict[str, Any]:
    """Counts from comparing every prediction with every threshold: ``(T, M)`` booleans."""
    xp = K.get_array_module(y_pred)
    limits = _device_thresholds(tuple(thresholds), str(y_pred.dtype), K.backend())
    if multi_label:
        predictions, labels, limits = y_pred[None], (y_true != 0)[None], limits[:, None, None]
    else:
        predictions, labels = y_pred.reshape(1, -1), (y_true != 0).reshape(1, -1)
        limits = limits[:, None]
        weights = None if weights is None else weights.reshape(1, -1)
    if weights is not None and multi_label:
        weights = weights[None]
    positive = predictions > limits
    kinds = {
        "tp": (labels, positive),
        "fp": (~labels, positive),
        "tn": (~labels, ~positive),
        "fn": (labels, ~positive),
    }
    counts = {}
    for kind, (label_side, prediction_side) in kinds.items():
        both = label_side & prediction_side
        hits = both.astype(y_pred.dtype) if weights is None else xp.where(both, weights, 0)
        counts[kind] = hits.sum(axis=1)
    return counts


def divide_no_nan(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator``, 0 where the denominator is 0 (Keras's ops.divide_no_nan)."""
    xp = K.get_array_module(numerator, denominator)
    zero = denominator == 0
    return xp.where(zero, 0, numerator / xp.where(zero, 1, denominator)).astype(numerator.dtype)
