"""Argument checks shared by ImageDataGenerator and its iterators (Keras-style errors)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gpukeras import backend as K

DATA_FORMATS = ("channels_last", "channels_first")


def data_format_from_dim_ordering(value: Any) -> Any:
    """Keras 1's ``dim_ordering`` ('th', 'tf', 'default') as a ``data_format``."""
    return {"th": "channels_first", "tf": "channels_last", "default": None}.get(value, value)


def normalized_data_format(value: Any) -> str:
    if value is None:
        return K.image_data_format()
    if value not in DATA_FORMATS:
        raise ValueError(
            f"`data_format` must be one of {DATA_FORMATS}. Received: data_format={value!r}"
        )
    return value


def image_axes(data_format: str, batch: bool) -> tuple[int, int, int]:
    """(channel, row, column) axes of an image, or of a batch of them."""
    offset = 1 if batch else 0
    if data_format == "channels_first":
        return offset, offset + 1, offset + 2
    return offset + 2, offset, offset + 1


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def checked_range(name: str, value: Any) -> float:
    """A non-negative number (a +- range of a random draw)."""
    if not _is_number(value) or value < 0:
        raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def checked_shift(name: str, value: Any) -> Any:
    """A shift range: a number >= 0, or a list of pixel offsets to choose from."""
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) == 0 or not all(_is_number(v) for v in value):
            raise ValueError(
                f"`{name}` must be a number or a non-empty list of numbers. "
                f"Received: {name}={value!r}"
            )
        return list(value)
    return checked_range(name, value)


def checked_zoom(value: Any) -> tuple[float, float]:
    """``z`` as ``[1 - z, 1 + z]``, or a ``[low, high]`` pair."""
    if _is_number(value):
        return 1.0 - float(value), 1.0 + float(value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(map(_is_number, value)):
        return float(value[0]), float(value[1])
    raise ValueError(
        "`zoom_range` must be a float or a tuple or list of two floats. "
        f"Received: zoom_range={value!r}"
    )


def checked_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    return int(value)


def checked_subset(subset: Any, validation_split: float) -> Any:
    if subset not in (None, "training", "validation"):
        raise ValueError(
            f"`subset` must be 'training', 'validation' or None. Received: subset={subset!r}"
        )
    if subset is not None and validation_split == 0:
        raise ValueError(
            f"`subset={subset!r}` needs the ImageDataGenerator's `validation_split` > 0. "
            f"Received: validation_split={validation_split!r}"
        )
    return subset
