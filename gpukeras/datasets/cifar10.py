"""CIFAR-10: 50,000 + 10,000 colour 32x32 images in 10 classes (airplane ... truck)."""

from __future__ import annotations

import os

import numpy as np

from gpukeras.datasets._cifar import load_batch, to_channels_last
from gpukeras.datasets._files import fetch

__all__ = ["FILE_HASH", "ORIGIN", "load_data"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
# Keras 3's names: the archive is cached as <dirname>_archive, extracted into <dirname>.
DIRNAME = "cifar-10-batches-py-target"
_INNER = "cifar-10-batches-py"


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-10, downloading and extracting the Toronto archive on first use.

    The archive (sha256-checked) is extracted safely once; its pickled batches
    are read with an unpickler that only rebuilds NumPy arrays.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(50000, 32, 32, 3)``
        and ``(10000, 32, 32, 3)`` (channels last), uint8 labels ``(50000, 1)`` and
        ``(10000, 1)`` with values 0..9.

    Raises:
        OSError: the download failed; the message names the URL and where to put
            the archive by hand.
        ValueError: the archive or a batch in it is not what CIFAR-10 holds.
    """
    folder = os.path.join(fetch(DIRNAME, ORIGIN, FILE_HASH, extract=True), _INNER)
    # Real data has 5 batches of 10,000; concatenating works for any batch size.
    batches = [load_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([images for images, _ in batches])
    y_train = np.concatenate([labels for _, labels in batches])
    x_test, y_test = load_batch(os.path.join(folder, "test_batch"))
    return (
        (to_channels_last(x_train), y_train.reshape(-1, 1)),
        (to_channels_last(x_test), y_test.reshape(-1, 1)),
    )
