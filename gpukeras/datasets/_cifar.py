"""Reading the CIFAR "python version" batches (pickled dicts) without running code."""

from __future__ import annotations

import os
import pickle

import numpy as np

from gpukeras.datasets._safe_pickle import load_pickle


def load_batch(path: str, label_key: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images ``(n, 3, 32, 32)``, uint8 labels ``(n,)``) of one CIFAR batch file.

    The file is a Python 2 pickle of a dict with ``data`` (``(n, 3072)`` uint8) and
    label lists; it is read with an unpickler that only rebuilds NumPy arrays.
    """
    try:
        with open(path, "rb") as stream:
            batch = load_pickle(stream, encoding="bytes")
    except FileNotFoundError as error:
        raise ValueError(
            f"The CIFAR archive lacks {os.path.basename(path)} (looked for {path}); "
            "delete the extracted folder and its archive to download them again."
        ) from error
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise ValueError(f"{path} is not a readable CIFAR batch: {error}") from error
    batch = {_text(key): value for key, value in dict(batch).items()}
    if "data" not in batch or label_key not in batch:
        raise ValueError(
            f"{path} is not a CIFAR batch: expected keys 'data' and {label_key!r}. "
            f"Received: {sorted(batch)}"
        )
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch[label_key], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(
            f"{path} holds data of shape {data.shape} and {len(labels)} labels; "
            "expected (n, 3072) and n labels"
        )
    return data.reshape(len(data), 3, 32, 32), labels


def _text(key: object) -> str:
    return key.decode("utf8") if isinstance(key, bytes) else str(key)


def to_channels_last(images: np.ndarray) -> np.ndarray:
    """``(n, 3, 32, 32)`` -> ``(n, 32, 32, 3)`` (Keras's default image data format)."""
    return images.transpose(0, 2, 3, 1)
