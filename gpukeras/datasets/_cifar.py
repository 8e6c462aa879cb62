"""Reading the CIFAR "python version" batches (pickled dicts) without running code."""

from __future__ import annotations

import os
import pickle

import numpy as np

from gpukeras.datasets._safe_pickle import ArrayPlan, load_raw_pickle

_IMAGE_BYTES = 3 * 32 * 32
_MAX_IMAGES = 50_000


def load_batch(path: str, label_key: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images ``(n, 3, 32, 32)``, uint8 labels ``(n,)``) of one CIFAR batch file.

    The file is a Python 2 pickle of a dict with ``data`` (``(n, 3072)`` uint8) and
    label lists. The pickle builds nothing: NumPy's names are answered by
    stand-ins, and the image array is built here from its raw bytes once its
    dtype, shape and size were checked (see :mod:`_safe_pickle`).
    """
    try:
        with open(path, "rb") as stream:
            batch = load_raw_pickle(stream, encoding="bytes")
    except FileNotFoundError as error:
        raise ValueError(
            f"The CIFAR archive lacks {os.path.basename(path)} (looked for {path}); "
            "delete the extracted folder and its archive to download them again."
        ) from error
    except pickle.UnpicklingError as error:
        raise ValueError(f"{path} is not a readable CIFAR batch: {error}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path} is not a CIFAR batch: it holds a {type(batch).__name__}")
    batch = {_text(key): value for key, value in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise ValueError(
            f"{path} is not a CIFAR batch: expected keys 'data' and {label_key!r}. "
            f"Received: {sorted(batch)}"
        )
    data, labels = _images(batch["data"], path), _labels(batch[label_key], path)
    if len(labels) != len(data):
        raise ValueError(f"{path} holds {len(data)} images but {len(labels)} labels")
    return data.reshape(len(data), 3, 32, 32), labels


def _images(plan: object, path: str) -> np.ndarray:
    """The ``(n, 3072)`` uint8 image array, refused unless the pickle says exactly that."""
    state = getattr(plan, "state", None) if isinstance(plan, ArrayPlan) else None
    shape = state[1] if isinstance(state, tuple) and len(state) == 5 else None
    dtype = getattr(state[2], "code", None) if shape is not None else None
    if (
        dtype != "u1"
        or not isinstance(shape, tuple)
        or len(shape) != 2
        or shape[1] != _IMAGE_BYTES
        or not 0 <= shape[0] <= _MAX_IMAGES
    ):
        raise ValueError(
            f"{path} is not a CIFAR batch: 'data' must be a uint8 array of shape "
            f"(n, {_IMAGE_BYTES}) with n <= {_MAX_IMAGES}. Received: dtype {dtype!r}, "
            f"shape {shape!r:.80}"
        )
    try:
        return plan.build()
    except pickle.UnpicklingError as error:
        raise ValueError(f"{path} is not a readable CIFAR batch: {error}") from None


def _labels(values: object, path: str) -> np.ndarray:
    if not isinstance(values, list) or not all(
        type(value) is int and 0 <= value <= 255 for value in values
    ):
        raise ValueError(
            f"{path} is not a CIFAR batch: labels must be a list of ints in 0..255. "
            f"Received: {type(values).__name__}"
        )
    return np.array(values, dtype=np.uint8)


def _text(key: object) -> str:
    return key.decode("utf8", "replace") if isinstance(key, bytes) else str(key)


def to_channels_last(images: np.ndarray) -> np.ndarray:
    """``(n, 3, 32, 32)`` -> ``(n, 32, 32, 3)`` (Keras's default image data format)."""
    return images.transpose(0, 2, 3, 1)
