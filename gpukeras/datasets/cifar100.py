"""CIFAR-100: 50,000 + 10,000 colour 32x32 images in 100 fine / 20 coarse classes."""

from __future__ import annotations

import os

import numpy as np

from gpukeras.datasets._cifar import load_batch, to_channels_last
from gpukeras.datasets._files import fetch

__all__ = ["FILE_HASH", "ORIGIN", "load_data"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
FILE_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
DIRNAME = "cifar-100-python-target"
_INNER = "cifar-100-python"


def load_data(
    label_mode: str = "fine",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-100, downloading and extracting the Toronto archive on first use.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).
            Default ``"fine"``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(50000, 32, 32, 3)``
        and ``(10000, 32, 32, 3)`` (channels last), uint8 labels ``(50000, 1)`` and
        ``(10000, 1)``.

    Raises:
        ValueError: ``label_mode`` is neither ``"fine"`` nor ``"coarse"``; the
            archive is not what CIFAR-100 holds.
        OSError: the download failed; the message names the URL and where to put
            the archive by hand.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            f'`label_mode` must be one of "fine", "coarse". Received: label_mode={label_mode!r}'
        )
    folder = os.path.join(fetch(DIRNAME, ORIGIN, FILE_HASH, extract=True), _INNER)
    label_key = f"{label_mode}_labels"
    x_train, y_train = load_batch(os.path.join(folder, "train"), label_key)
    x_test, y_test = load_batch(os.path.join(folder, "test"), label_key)
    return (
        (to_channels_last(x_train), y_train.reshape(-1, 1)),
        (to_channels_last(x_test), y_test.reshape(-1, 1)),
    )
