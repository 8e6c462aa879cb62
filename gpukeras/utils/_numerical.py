"""Label encoding and normalisation, written once for NumPy and CuPy arrays."""

from __future__ import annotations

from typing import Any

from gpukeras import backend


def to_categorical(x: Any, num_classes: int | None = None, dtype: Any = "float32") -> Any:
    """Convert integer class labels to one-hot rows.

    A trailing axis of size 1 is dropped first, so labels of shape ``(n, 1)``
    give ``(n, num_classes)`` like labels of shape ``(n,)``.

    Args:
        x: integer class labels, any shape (a list, a NumPy array or a device array,
            which stays on the device).
        num_classes: the number of classes. Default ``None``: ``max(x) + 1``.
        dtype: dtype of the result. Default ``"float32"`` (Keras 3 returns float64 for
            NumPy input; the values are the same and float32 is what models train on).

    Returns:
        An array of shape ``x.shape + (num_classes,)`` (after dropping a trailing 1).

    Raises:
        ValueError: a label is negative or not below ``num_classes``, a label is not an
            integer, or ``num_classes`` is not a positive integer.
    """
    xp = backend.get_array_module(x)  # device arrays stay on the device
    labels = xp.asarray(x)
    if labels.dtype.kind == "f":
        if bool(xp.any(labels != xp.floor(labels))):
            raise ValueError(f"Expected integer class labels in `x`. Received: x={x!r}")
    elif labels.dtype.kind not in "iub":
        raise ValueError(f"Expected integer class labels in `x`. Received dtype {labels.dtype}")
    labels = labels.astype("int64")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    num_classes = _checked_num_classes(xp, labels, num_classes)
    one_hot = xp.zeros((labels.shape[0], num_classes), dtype=dtype)
    one_hot[xp.arange(labels.shape[0]), labels] = 1
    return one_hot.reshape(tuple(shape) + (num_classes,))


def _checked_num_classes(xp: Any, labels: Any, num_classes: int | None) -> int:
    if labels.size and int(labels.min()) < 0:
        raise ValueError(
            f"Class labels must be non-negative. Received a label of {int(labels.min())} in `x`."
        )
    largest = int(labels.max()) if labels.size else -1
    if num_classes is None:
        return largest + 1
    if isinstance(num_classes, bool) or not hasattr(num_classes, "__index__") or num_classes < 1:
        raise ValueError(
            f"Expected `num_classes` to be a positive integer or None. "
            f"Received: num_classes={num_classes!r}"
        )
    num_classes = int(num_classes)
    if largest >= num_classes:
        raise ValueError(
            f"Class labels must be below num_classes={num_classes}. "
            f"Received a label of {largest} in `x`."
        )
    return num_classes


def normalize(x: Any, axis: int | None = -1, order: int | float = 2) -> Any:
    """Scale ``x`` to unit norm along ``axis``; all-zero slices stay zero.

    Args:
        x: the array to normalise (NumPy or device array; the result stays where ``x`` is).
            Float dtypes are kept; integer input becomes ``backend.floatx()``.
        axis: the axis along which norms are taken. Default ``-1`` (the last axis).
            ``None`` is read as ``-1``, as Keras does.
        order: the norm's order, as for ``numpy.linalg.norm``. Default ``2`` (Euclidean).

    Returns:
        An array of the shape of ``x``.
    """
    xp = backend.get_array_module(x)  # device arrays stay on the device
    values = xp.asarray(x)
    if values.dtype.kind != "f":
        values = values.astype(backend.floatx())
    axis = -1 if axis is None else axis
    norm = xp.linalg.norm(values, ord=order, axis=axis, keepdims=True)
    # A zero vector has no direction: leave it zero instead of dividing by zero.
    norm = xp.where(norm == 0, xp.ones_like(norm), norm)
    return values / norm.astype(values.dtype)
