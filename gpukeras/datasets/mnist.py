"""MNIST handwritten digits: 60,000 + 10,000 grayscale 28x28 images (Keras's file)."""

from __future__ import annotations

import numpy as np

from gpukeras.datasets._files import KERAS_DATASETS_URL, fetch
from gpukeras.datasets._npz import ArraySpec, load_npz

__all__ = ["FILE_HASH", "ORIGIN", "load_data"]

ORIGIN = KERAS_DATASETS_URL + "mnist.npz"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_EXPECTED = {
    "x_train": ArraySpec(dtypes=("u1",), trailing=(28, 28), max_rows=60_000),
    "y_train": ArraySpec(dtypes=("u1",), max_rows=60_000),
    "x_test": ArraySpec(dtypes=("u1",), trailing=(28, 28), max_rows=10_000),
    "y_test": ArraySpec(dtypes=("u1",), max_rows=10_000),
}


def load_data(
    path: str = "mnist.npz",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST, downloading Keras's ``mnist.npz`` on first use (sha256-checked).

    Args:
        path: file name in the data set cache (``~/.gpukeras/datasets``, or
            ``$GPUKERAS_DATA_DIR``), or an absolute path of your own copy, read as
            it is. Default ``"mnist.npz"``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(60000, 28, 28)``
        and ``(10000, 28, 28)`` with values 0..255, uint8 labels ``(60000,)`` and
        ``(10000,)`` with values 0..9.

    Raises:
        OSError: the download failed; the message names the URL and where to put
            the file by hand.
        ValueError: the file lacks one of the arrays x_train, y_train, x_test, y_test.
    """
    found = fetch(path, ORIGIN, FILE_HASH)
    arrays = load_npz(found, _EXPECTED)
    missing = [key for key in _KEYS if key not in arrays]
    if missing:
        raise ValueError(
            f"{found} is not an MNIST archive: it lacks {', '.join(missing)}. "
            f"Expected arrays {', '.join(_KEYS)}. Received: {', '.join(arrays)}"
        )
    x_train, y_train, x_test, y_test = (arrays[key] for key in _KEYS)
    return (x_train, y_train), (x_test, y_test)
