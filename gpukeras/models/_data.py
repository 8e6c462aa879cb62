"""Checking and placing the arrays given to fit, evaluate and predict."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.models import _structure

Shape = tuple[Any, ...]


@dataclass
class Dataset:
    """Inputs, targets and sample weights, on the device when they fit there."""

    x: Any
    y: Any = None
    sample_weight: Any = None
    on_device: bool = True
    # The arguments the parts came from, for messages (validation_data[0], ...).
    names: tuple[str, str, str] = ("x", "y", "sample_weight")

    @property
    def size(self) -> int:
        return int(self.x.shape[0])

    def batch(self, index: Any) -> tuple[Any, Any, Any]:
        """The rows at ``index`` (a slice or an index array) of each part, on the device."""
        parts = (self.x, self.y, self.sample_weight)
        rows = [None if a is None else a[index] for a in parts]
        if not self.on_device:
            rows = [_structure.to_device(a) for a in rows]
        return _structure.step_parts(rows[0], rows[1], rows[2])

    def whole(self) -> tuple[Any, Any, Any]:
        """Every row of each part (one batch: train_on_batch and friends)."""
        return _structure.step_parts(self.x, self.y, self.sample_weight)


def host_or_device_array(value: Any, argument: str) -> Any:
    """``value`` as a numeric array (device arrays pass through), or a clear error."""
    if K.is_device_array(value):
        return value
    try:
        array = numpy.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(
            f"`{argument}` must be a numeric array (NumPy, CuPy or nested lists of numbers). "
            f"Received: {argument} of type {type(value).__name__} that NumPy cannot stack ({exc})"
        ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"`{argument}` must be numeric. Received: {argument} with dtype {array.dtype}"
        )
    if array.ndim == 0:
        raise ValueError(f"`{argument}` must have a batch axis. Received: a scalar {argument}")
    return array


def as_inputs(value: Any, argument: str) -> Any:
    array = host_or_device_array(value, argument)
    return _floatx(array)


def as_targets(value: Any, argument: str) -> Any:
    array = host_or_device_array(value, argument)
    return array if array.dtype.kind in "iu" else _floatx(array)


def _floatx(array: Any) -> Any:
    dtype = K.floatx()
    return array if array.dtype == dtype else array.astype(dtype)


def check_rows(argument: str, parts: dict[str, Any]) -> None:
    """All of ``parts`` have the same number of rows."""
    counts = {name: int(a.shape[0]) for name, a in parts.items() if a is not None}
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{name}.shape[0]={n}" for name, n in counts.items())
        raise ValueError(
            f"{argument}: all arrays must have the same number of samples. Received: {detail}"
        )


def check_not_empty(x: Any, argument: str) -> None:
    """``x`` has at least one row (an empty array would fail deep in the step's arithmetic)."""
    if int(x.shape[0]) > 0:
        return
    named = argument.split("[")[0]  # validation_data[0] -> validation_data
    what = " it" if named == argument else " its inputs"
    raise ValueError(
        f"`{named}` is empty:{what} must hold at least one sample. "
        f"Received: {argument}.shape={tuple(x.shape)}"
    )


def check_inputs(x: Any, expected: Shape, argument: str) -> None:
    """``x``'s sample shape matches the model's input shape ``expected`` (batch axis first)."""
    got = tuple(x.shape)
    compatible = len(got) == len(expected) and all(
        e is None or e == g for e, g in zip(expected[1:], got[1:])
    )
    if not compatible:
        raise ValueError(
            f"`{argument}` does not match the model's input: expected shape "
            f"{_show(expected)}, got {_show((None, *got[1:]))} "
            f"(Received: {argument} with shape {got})"
        )


def check_targets(y: Any, output_shape: Shape, sparse: bool, argument: str) -> Any:
    """Check ``y`` against the model's output shape; returns ``y`` reshaped if needed."""
    got = tuple(y.shape)
    out = tuple(output_shape)
    if sparse:
        if len(got) == len(out) - 1 or (len(got) == len(out) and got[-1] == 1):
            _check_label_range(y, out[-1], argument)
            return y
        raise ValueError(
            f"`{argument}` must hold integer class labels of shape (samples,) for a sparse "
            f"loss; the model's output has shape {_show(out)}. Received: {argument} with "
            f"shape {got}"
        )
    if len(got) == len(out) - 1 and out[-1] == 1:
        return y.reshape(*got, 1)
    if _broadcasts(got, out):
        return _broadcast_targets(y, out)
    if len(got) != len(out) or any(o is not None and o != g for o, g in zip(out[1:], got[1:])):
        hint = ""
        if len(got) == len(out) and got[-1] != out[-1]:
            hint = f" (y has {got[-1]} columns/classes, the model outputs {out[-1]})"
        raise ValueError(
            f"`{argument}` does not match the model's output: expected shape {_show(out)}, "
            f"got {_show((None, *got[1:]))}{hint}. Received: {argument} with shape {got}"
        )
    return y


def _broadcasts(got: Shape, out: Shape) -> bool:
    """Keras's losses broadcast ``y`` against the prediction: a size-1 axis of ``y`` stands for
    every entry of the model's output along it (``(n, 1)`` targets for a ``Dense(2)`` output)."""
    return (
        len(got) == len(out)
        and any(g == 1 and o != 1 for g, o in zip(got[1:], out[1:]))
        and all(g == 1 or o is None or g == o for g, o in zip(got[1:], out[1:]))
    )


def _broadcast_targets(y: Any, out: Shape) -> Any:
    xp = K.get_array_module(y)
    shape = (y.shape[0], *(g if o is None else o for g, o in zip(y.shape[1:], out[1:])))
    return xp.ascontiguousarray(xp.broadcast_to(y, shape))


def _check_label_range(y: Any, classes: int, argument: str) -> None:
    if K.is_device_array(y) or classes is None:
        return  # checking a device array would cost a sync
    # Written so that a NaN label (every comparison with NaN is false) is refused too.
    if y.size and not (y.min() >= 0 and y.max() < classes):
        low, high = y.min(), y.max()
        found = "NaN labels" if numpy.isnan(low) else f"labels from {low} to {high}"
        raise ValueError(
            f"`{argument}` holds class labels outside [0, {classes}) for a model with "
            f"{classes} outputs. Received: {found}"
        )


def check_batch_size(batch_size: Any, argument: str = "batch_size") -> int:
    if batch_size is None:
        return 32
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, numpy.integer))
        or batch_size < 1
    ):
        raise ValueError(
            f"`{argument}` must be a positive int. Received: {argument}={batch_size!r}"
        )
    return int(batch_size)


def check_non_negative_int(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 0:
        raise ValueError(f"`{argument}` must be a non-negative int. Received: {argument}={value!r}")
    return int(value)


def split_validation(
    x: Any, y: Any, sample_weight: Any, validation_split: Any
) -> tuple[tuple[Any, Any, Any], tuple[Any, Any, Any] | None]:
    """Hold out the last ``validation_split`` fraction (taken before any shuffling)."""
    if (
        isinstance(validation_split, bool)
        or not isinstance(validation_split, (int, float))
        or not 0 <= validation_split < 1
    ):
        raise ValueError(
            f"`validation_split` must be a float in [0, 1). "
            f"Received: validation_split={validation_split!r}"
        )
    if not validation_split:
        return (x, y, sample_weight), None
    split_at = int(math.floor(x.shape[0] * (1.0 - validation_split)))  # as Keras 3
    if split_at in (0, x.shape[0]):
        raise ValueError(
            f"validation_split={validation_split} leaves an empty training or validation "
            f"set for {x.shape[0]} samples"
        )

    def cut(a: Any, part: slice) -> Any:
        return None if a is None else a[part]

    train = tuple(cut(a, slice(None, split_at)) for a in (x, y, sample_weight))
    held = tuple(cut(a, slice(split_at, None)) for a in (x, y, sample_weight))
    return train, held  # type: ignore[return-value]


def unpack_validation_data(validation_data: Any) -> tuple[Any, Any, Any]:
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        kind = type(validation_data).__name__
        length = len(validation_data) if isinstance(validation_data, (tuple, list)) else None
        raise ValueError(
            "`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
            f"val_sample_weight). Received: a {kind}"
            + (f" of length {length}" if length is not None else "")
        )
    x, y, *rest = validation_data
    return x, y, (rest[0] if rest else None)


def sample_weights(
    y: Any, sample_weight: Any, class_weight: Any, argument: str = "sample_weight"
) -> Any:
    """Per-sample weights from ``sample_weight`` or ``class_weight`` (or ``None``)."""
    if sample_weight is not None and class_weight is not None:
        raise ValueError(
            "Pass `sample_weight` or `class_weight`, not both. "
            f"Received: class_weight={class_weight!r} and a sample_weight array"
        )
    if class_weight is not None:
        return _class_weights_to_samples(y, class_weight)
    if sample_weight is None:
        return None
    weights = host_or_device_array(sample_weight, argument)
    if weights.ndim > 1 and all(d == 1 for d in weights.shape[1:]):
        weights = weights.reshape(-1)
    if weights.ndim != 1:
        raise ValueError(
            f"`{argument}` must be 1-D with one weight per sample. "
            f"Received: {argument} with shape {tuple(weights.shape)}"
        )
    return _floatx(weights)


def _class_weights_to_samples(y: Any, class_weight: Any) -> Any:
    if not isinstance(class_weight, dict):
        raise ValueError(
            "`class_weight` must be a dict mapping class index to weight. "
            f"Received: class_weight={class_weight!r}"
        )
    bad = [
        k
        for k in class_weight
        if isinstance(k, bool) or not isinstance(k, (int, numpy.integer)) or k < 0
    ]
    if bad:
        raise ValueError(
            "`class_weight` keys must be class indices (non-negative ints). "
            f"Received: class_weight={class_weight!r}"
        )
    labels = K.to_host(y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(labels.shape[0], -1)[:, 0].astype(numpy.int64)
    missing = sorted(set(numpy.unique(labels).tolist()) - set(class_weight))
    if missing:
        raise ValueError(
            f"`class_weight` must have a weight for every class in y. Missing classes: "
            f"{missing}. Received: class_weight={class_weight!r}"
        )
    table = numpy.zeros(max(class_weight) + 1, dtype=K.floatx())
    for label, weight in class_weight.items():
        table[int(label)] = weight
    return table[labels]


def _show(shape: Shape) -> str:
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )
