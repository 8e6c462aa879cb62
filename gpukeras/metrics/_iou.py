"""Intersection-over-union metrics from a confusion matrix accumulated on the device.

``IoU``, ``MeanIoU``, ``BinaryIoU``, ``OneHotIoU`` and ``OneHotMeanIoU`` share one
``(num_classes, num_classes)`` state (rows: true class, columns: predicted class). As in
Keras 3 the matrix's dtype defaults to ``int32``: fractional sample weights truncate.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.metrics._metric import Metric

__all__ = ["BinaryIoU", "IoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU"]


@functools.lru_cache(maxsize=64)
def _device_ids(ids: tuple[int, ...], backend_name: str) -> Any:
    """The target class ids on the device, made once (not copied there every step)."""
    del backend_name  # part of the cache key: one array per backend
    return K.to_device(numpy.asarray(ids, dtype="int64"))


def _device_array(value: Any) -> Any:
    from gpukeras import autodiff

    return K.to_device(autodiff.unwrap(value))


class IoU(Metric):
    """``tp / (tp + fp + fn)`` per class, averaged over ``target_class_ids``.

    Classes absent from both targets and predictions count neither way.

    Args:
        num_classes: how many classes (the confusion matrix is ``num_classes`` square).
        target_class_ids: the classes whose IoU is averaged.
        name: default ``'io_u'``.
        dtype: dtype of the confusion matrix (default ``'int32'``, as Keras).
        ignore_class: a target class to leave out (e.g. a "void" label); default ``None``.
        sparse_y_true: targets are class ids (default True) rather than scores.
        sparse_y_pred: predictions are class ids (default True) rather than scores.
        axis: the class axis of dense targets/predictions (default ``-1``).
    """

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Any,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ) -> None:
        super().__init__(name=name, dtype=dtype or "int32")
        self._direction = "up"
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(
            (num_classes, num_classes), "zeros", name="total_confusion_matrix"
        )
        if max(target_class_ids) >= num_classes:
            raise ValueError(
                f"Target class id {max(target_class_ids)} is out of range, which is "
                f"[0, {num_classes}). Received: target_class_ids={list(target_class_ids)}"
            )
        self.target_class_ids = list(target_class_ids)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch to the confusion matrix (ids out of range count nowhere)."""
        y_true, y_pred = _device_array(y_true), _device_array(y_pred)
        if not self.sparse_y_true:
            y_true = y_true.argmax(axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(axis=self.axis)
        y_true = y_true.astype(self.dtype).reshape(-1)
        y_pred = y_pred.astype(self.dtype).reshape(-1)
        xp = K.get_array_module(y_pred)
        if sample_weight is None:
            weights = xp.ones_like(y_true)
        else:
            weights = _device_array(sample_weight)
            if weights.dtype.kind == "f" and "int" in str(self.dtype):
                warnings.warn(
                    "You are passing weight as `float`, but dtype is `int`. This may result "
                    "in an incorrect weight due to type casting Consider using integer weights.",
                    stacklevel=2,
                )
            weights = xp.broadcast_to(weights.astype(self.dtype).reshape(-1), y_true.shape)
        inside = (y_true >= 0) & (y_true < self.num_classes)
        inside &= (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            inside &= y_true != self.ignore_class
        cells = xp.where(inside, y_true, 0) * self.num_classes + xp.where(inside, y_pred, 0)
        counts = xp.bincount(
            cells.astype("int64"),
            weights=xp.where(inside, weights, 0).astype("float64"),
            minlength=self.num_classes**2,
        )
        self.total_cm.assign_add(counts.reshape(self.num_classes, self.num_classes))

    def result(self) -> Any:
        xp = K.array_module()
        matrix = self.total_cm.value
        true_positives = xp.diagonal(matrix)
        denominator = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positives
        ids = _device_ids(tuple(self.target_class_ids), K.backend())
        true_positives = true_positives[ids].astype("float32")
        denominator = denominator[ids].astype("float32")
        valid = denominator > 1e-9
        # An absent class contributes 0, and does not count in the mean.
        iou = xp.where(valid, true_positives / (denominator + K.epsilon()), 0.0)
        mean = iou.sum() / (valid.sum().astype("float32") + K.epsilon())
        return xp.asarray(mean, dtype="float32")

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class BinaryIoU(IoU):
    """IoU of two classes, predictions thresholded: ``y_pred >= threshold`` is class 1.

    Args:
        target_class_ids: ``[0]``, ``[1]`` or ``[0, 1]`` (default ``(0, 1)``).
        threshold: default ``0.5``.
        name: default ``'binary_io_u'``.
        dtype: as :class:`IoU`.
    """

    def __init__(
        self,
        target_class_ids: Any = (0, 1),
        threshold: float = 0.5,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = _device_array(y_true).astype(self.dtype)
        y_pred = (_device_array(y_pred).astype("float32") >= self.threshold).astype(self.dtype)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }


class MeanIoU(IoU):
    """The mean IoU over all ``num_classes`` classes.

    Args: as :class:`IoU` without ``target_class_ids`` (name default ``'mean_io_u'``).
    """

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            target_class_ids=list(range(num_classes)),
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class OneHotIoU(IoU):
    """:class:`IoU` for one-hot targets (and, by default, score predictions): argmax first.

    Args: as :class:`IoU`, without ``sparse_y_true``; ``sparse_y_pred`` defaults to False.
    """

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Any,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            target_class_ids=target_class_ids,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """:class:`MeanIoU` for one-hot targets (and, by default, score predictions).

    Args: as :class:`MeanIoU`, without ``sparse_y_true``; ``sparse_y_pred`` defaults to False.
    """

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config
