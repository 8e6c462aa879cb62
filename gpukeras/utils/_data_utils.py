"""Keras 3's helpers for a custom ``train_step``: taking a batch apart and putting it together."""

from __future__ import annotations

from typing import Any


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from a batch ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, w)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        "Data is expected to be x, (x,), (x, y) or (x, y, sample_weight). "
        f"Received: a tuple of {len(data)} items"
    )


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The batch a step receives: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)
