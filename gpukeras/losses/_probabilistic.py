"""Crossentropies, KL divergence and Poisson (Keras 3 numerics and names)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.losses._loss import Loss, _Prepared, as_float_array, shape_mismatch
from gpukeras.losses._math import (
    clip_probabilities,
    log_softmax,
    one_hot,
    sigmoid,
    softmax,
    softplus,
)

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "binary_crossentropy",
    "categorical_crossentropy",
    "kl_divergence",
    "poisson",
    "sparse_categorical_crossentropy",
]


def _check_unit_interval(value: float, argument: str) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{argument} must be in [0, 1]. Received: {argument}={value!r}")
    return float(value)


def _renormalized_log_grad(weights: Any, y_pred: Any) -> Any:
    """Gradient of ``-sum(weights * log(clip(y_pred / sum(y_pred))))`` w.r.t. ``y_pred``.

    Keras renormalises probabilities over the class axis before clipping; the chain
    rule through ``q = y / s`` gives ``(g - sum(g * q)) / s`` with ``g = dL/dq``.
    """
    total = y_pred.sum(axis=-1, keepdims=True)
    normalized = y_pred / total
    clipped, inside = clip_probabilities(normalized)
    grad_normalized = -weights / clipped * inside
    return (grad_normalized - (grad_normalized * normalized).sum(axis=-1, keepdims=True)) / total


def _renormalized_log(y_pred: Any) -> Any:
    """``log(clip(y_pred / sum(y_pred)))`` over the class axis, as Keras computes it."""
    xp = K.get_array_module(y_pred)
    clipped, _ = clip_probabilities(y_pred / y_pred.sum(axis=-1, keepdims=True))
    return xp.log(clipped)


class CategoricalCrossentropy(Loss):
    """Crossentropy between one-hot (or soft) targets and predicted class probabilities.

    Args:
        from_logits: whether ``y_pred`` holds logits (default ``False``: probabilities).
        label_smoothing: in [0, 1] (default ``0.0``); targets become
            ``y * (1 - label_smoothing) + label_smoothing / num_classes``.
        axis: the class axis (default ``-1``).
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``'categorical_crossentropy'``.
        dtype: see :class:`Loss` (default ``None``).
    """

    fused_activation = "softmax"

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_unit_interval(label_smoothing, "label_smoothing")
        self.axis = axis
        self._warned_single_class = False

    def _targets(self, y_true: Any) -> Any:
        if self.label_smoothing:
            smoothing = self.label_smoothing
            return y_true * (1.0 - smoothing) + smoothing / float(y_true.shape[-1])
        return y_true

    def _prepare(self, y_true: Any, y_pred: Any) -> _Prepared:
        prepared = super()._prepare(y_true, y_pred)
        if prepared.y_pred.shape[-1] == 1 and not self._warned_single_class:
            self._warned_single_class = True
            warnings.warn(
                f"Loss {self.name!r} expects y_pred shaped (batch_size, num_classes) with "
                f"num_classes > 1; with one class it is always 0. Received: y_pred.shape="
                f"{prepared.shape}. Consider 'binary_crossentropy' for two classes.",
                UserWarning,
                stacklevel=3,
            )
        return prepared

    def call(self, y_true: Any, y_pred: Any) -> Any:
        targets = self._targets(y_true)
        log_prob = log_softmax(y_pred) if self.from_logits else _renormalized_log(y_pred)
        return -(targets * log_prob).sum(axis=-1)

    def _call_grad(self, y_true: Any, y_pred: Any) -> Any:
        targets = self._targets(y_true)
        if self.from_logits:
            return softmax(y_pred) * targets.sum(axis=-1, keepdims=True) - targets
        return _renormalized_log_grad(targets, y_pred)

    def _fused_call_grad(self, y_true: Any, y_pred: Any) -> Any:
        targets = self._targets(y_true)
        return y_pred * targets.sum(axis=-1, keepdims=True) - targets

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis
        )
        return config


class SparseCategoricalCrossentropy(Loss):
    """Crossentropy between integer class labels and predicted class probabilities.

    ``y_true`` holds class indices shaped ``y_pred.shape[:-1]`` (a trailing axis of
    size 1 is allowed), as ints or integral floats. Out-of-range labels raise
    ValueError when ``y_true`` is a host array; labels already on the GPU are not
    read back (that would stall the step): their loss is NaN instead.

    Args:
        from_logits: whether ``y_pred`` holds logits (default ``False``: probabilities).
        ignore_class: a label whose elements contribute no loss (default ``None``); as
            in Keras, the mean reductions then divide by the number of other elements.
            ``per_sample`` scales the kept values by ``total / kept`` for the batch, so
            ``mean(per_sample)`` still equals the loss.
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``'sparse_categorical_crossentropy'``.
        dtype: see :class:`Loss` (default ``None``).
    """

    fused_activation = "softmax"
    sparse_targets = True

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.ignore_class = None if ignore_class is None else int(ignore_class)

    def _prepare(self, y_true: Any, y_pred: Any) -> _Prepared:
        y_pred = as_float_array(y_pred)
        if y_pred.ndim < 2:
            raise ValueError(
                f"Loss {self.name!r} needs y_pred with a class axis, shaped (batch_size, "
                f"num_classes). Received: y_pred.shape={tuple(y_pred.shape)}"
            )
        if not K.is_device_array(y_true):
            self.check_labels(y_true, int(y_pred.shape[-1]))
        labels = K.to_device(y_true)
        if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
            labels = labels[..., 0]
        if tuple(labels.shape) != tuple(y_pred.shape[:-1]):
            detail = f": sparse labels need shape {tuple(y_pred.shape[:-1])} (or with a trailing 1)"
            raise shape_mismatch(K.to_device(y_true), y_pred, detail)
        if labels.dtype.kind != "i":
            labels = labels.astype("int64")
        prepared = _Prepared(labels, y_pred, y_pred.ndim - 1, tuple(y_pred.shape))
        if self.ignore_class is not None:
            prepared.mask = labels != self.ignore_class
        return prepared

    def check_labels(self, y_true: Any, num_classes: int) -> None:
        """Raise ValueError unless every host label is in ``[0, num_classes)`` (or ignored)."""
        labels = numpy.asarray(y_true)
        if labels.dtype.kind not in "iuf":
            raise TypeError(
                f"Loss {self.name!r} expects integer class labels. Received: y_true with "
                f"dtype {labels.dtype}"
            )
        bad = (labels < 0) | (labels >= num_classes)
        if self.ignore_class is not None:
            bad &= labels != self.ignore_class
        if bad.any():
            raise ValueError(
                f"Loss {self.name!r}: labels must be in [0, {num_classes}) for y_pred with "
                f"{num_classes} classes. Received: y_true containing "
                f"{labels[bad].flatten()[:5].tolist()}"
            )

    def _split_labels(self, labels: Any, num_classes: int) -> tuple[Any, Any]:
        """Labels safe to index with, and where labels are unusable (out of range)."""
        xp = K.get_array_module(labels)
        unusable = (labels < 0) | (labels >= num_classes)
        if self.ignore_class is not None:
            unusable &= labels != self.ignore_class
        return xp.clip(labels, 0, num_classes - 1), unusable

    def _valid(self, labels: Any) -> Any:
        return None if self.ignore_class is None else labels != self.ignore_class

    def call(self, y_true: Any, y_pred: Any) -> Any:
        xp = K.get_array_module(y_pred)
        labels, unusable = self._split_labels(y_true, y_pred.shape[-1])
        log_prob = log_softmax(y_pred) if self.from_logits else _renormalized_log(y_pred)
        values = -xp.take_along_axis(log_prob, labels[..., None], axis=-1)[..., 0]
        values = xp.where(unusable, float("nan"), values).astype(y_pred.dtype)
        valid = self._valid(y_true)
        return values if valid is None else xp.where(valid, values, 0.0).astype(y_pred.dtype)

    def _targets(self, y_true: Any, y_pred: Any) -> Any:
        labels, _ = self._split_labels(y_true, y_pred.shape[-1])
        targets = one_hot(labels, y_pred.shape[-1], y_pred.dtype)
        valid = self._valid(y_true)
        return targets if valid is None else targets * valid[..., None]

    def _call_grad(self, y_true: Any, y_pred: Any) -> Any:
        targets = self._targets(y_true, y_pred)
        if self.from_logits:
            return softmax(y_pred) * targets.sum(axis=-1, keepdims=True) - targets
        return _renormalized_log_grad(targets, y_pred)

    def _fused_call_grad(self, y_true: Any, y_pred: Any) -> Any:
        targets = self._targets(y_true, y_pred)
        return y_pred * targets.sum(axis=-1, keepdims=True) - targets

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(from_logits=self.from_logits, ignore_class=self.ignore_class)
        return config


class BinaryCrossentropy(Loss):
    """Crossentropy for independent binary targets, averaged over the last axis.

    Args:
        from_logits: whether ``y_pred`` holds logits (default ``False``: probabilities).
        label_smoothing: in [0, 1] (default ``0.0``); targets are squeezed towards 0.5:
            ``y * (1 - label_smoothing) + 0.5 * label_smoothing``.
        axis: the axis the mean is taken over (default ``-1``).
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``'binary_crossentropy'``.
        dtype: see :class:`Loss` (default ``None``).
    """

    fused_activation = "sigmoid"

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_unit_interval(label_smoothing, "label_smoothing")
        self.axis = axis

    def _targets(self, y_true: Any) -> Any:
        if self.label_smoothing:
            return y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return y_true

    def call(self, y_true: Any, y_pred: Any) -> Any:
        xp = K.get_array_module(y_pred)
        targets = self._targets(y_true)
        if self.from_logits:
            # -t*log(sigmoid(z)) - (1-t)*log(sigmoid(-z)) == softplus(z) - t*z
            elementwise = softplus(y_pred) - targets * y_pred
        else:
            clipped, _ = clip_probabilities(y_pred)
            elementwise = -(targets * xp.log(clipped) + (1.0 - targets) * xp.log(1.0 - clipped))
        return elementwise.mean(axis=-1)

    def _call_grad(self, y_true: Any, y_pred: Any) -> Any:
        targets = self._targets(y_true)
        classes = float(y_pred.shape[-1])
        if self.from_logits:
            return (sigmoid(y_pred) - targets) / classes
        clipped, inside = clip_probabilities(y_pred)
        return ((1.0 - targets) / (1.0 - clipped) - targets / clipped) * inside / classes

    def _fused_call_grad(self, y_true: Any, y_pred: Any) -> Any:
        return (y_pred - self._targets(y_true)) / float(y_pred.shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis
        )
        return config


class KLDivergence(Loss):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` over the last axis.

    Both are clipped to ``[epsilon, 1]`` first, as Keras does.

    Args:
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``'kl_divergence'``.
        dtype: see :class:`Loss` (default ``None``).
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "kl_divergence",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        xp = K.get_array_module(y_pred)
        targets = xp.clip(y_true, K.epsilon(), 1.0)
        predictions = xp.clip(y_pred, K.epsilon(), 1.0)
        return (targets * xp.log(targets / predictions)).sum(axis=-1)

    def _call_grad(self, y_true: Any, y_pred: Any) -> Any:
        xp = K.get_array_module(y_pred)
        targets = xp.clip(y_true, K.epsilon(), 1.0)
        predictions = xp.clip(y_pred, K.epsilon(), 1.0)
        inside = (y_pred >= K.epsilon()) & (y_pred <= 1.0)
        return -targets / predictions * inside


class Poisson(Loss):
    """Poisson loss ``mean(y_pred - y_true * log(y_pred + epsilon))`` over the last axis.

    Args:
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``'poisson'``.
        dtype: see :class:`Loss` (default ``None``).
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "poisson",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        xp = K.get_array_module(y_pred)
        return (y_pred - y_true * xp.log(y_pred + K.epsilon())).mean(axis=-1)

    def _call_grad(self, y_true: Any, y_pred: Any) -> Any:
        return (1.0 - y_true / (y_pred + K.epsilon())) / float(y_pred.shape[-1])


def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Per-element categorical crossentropy (Keras shape: ``y_pred``'s without ``axis``).

    Defaults: ``from_logits=False``, ``label_smoothing=0.0``, ``axis=-1``.
    """
    loss = CategoricalCrossentropy(from_logits, label_smoothing, axis)
    return loss.values(y_true, y_pred)


def sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> Any:
    """Per-element sparse categorical crossentropy, shaped ``y_pred.shape[:-1]``.

    Defaults: ``from_logits=False``, ``ignore_class=None`` (ignored elements give 0),
    ``axis=-1`` (the only class axis supported).
    """
    if axis not in (-1, K.to_device(y_pred).ndim - 1):
        raise ValueError(
            f"sparse_categorical_crossentropy supports only the last axis. Received: axis={axis}"
        )
    return SparseCategoricalCrossentropy(from_logits, ignore_class).values(y_true, y_pred)


def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Any:
    """Binary crossentropy averaged over ``axis``.

    Defaults: ``from_logits=False``, ``label_smoothing=0.0``, ``axis=-1``.
    """
    return BinaryCrossentropy(from_logits, label_smoothing, axis).values(y_true, y_pred)


def kl_divergence(y_true: Any, y_pred: Any) -> Any:
    """Kullback-Leibler divergence summed over the last axis."""
    return KLDivergence().values(y_true, y_pred)


def poisson(y_true: Any, y_pred: Any) -> Any:
    """Poisson loss averaged over the last axis."""
    return Poisson().values(y_true, y_pred)
