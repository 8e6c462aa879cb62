"""The UCI optical handwritten digits: 1797 8x8 images, shipped inside gpukeras.

Small enough to train on in seconds on a CPU, so examples and tests need no download.
See ``data/digits-ATTRIBUTION.txt`` for source and licence (CC BY 4.0).
"""

from __future__ import annotations

import os

import numpy as np

from gpukeras.datasets._files import PACKAGED_DATA_DIR

__all__ = ["load_data"]

_ARCHIVE = os.path.join(PACKAGED_DATA_DIR, "digits.npz")


def load_data(
    test_split: float = 0.2, seed: int = 113
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the digits, shuffled and split into training and test sets.

    Args:
        test_split: fraction of the 1797 images put in the test set, in [0, 1).
            Default 0.2 (1437 training, 360 test images).
        seed: seed of the shuffle before the split; the same seed gives the same split.
            Default 113 (Keras's dataset default). Global random state is not touched.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images are uint8 arrays of shape
        ``(n, 8, 8)`` with values 0..16; labels are uint8 arrays of shape ``(n,)``
        with values 0..9. Host NumPy arrays.
    """
    if isinstance(test_split, bool) or not 0 <= test_split < 1:
        raise ValueError(
            f"Expected `test_split` to be a number in [0, 1). Received: test_split={test_split!r}"
        )
    with np.load(_ARCHIVE, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    order = np.random.RandomState(seed).permutation(len(images))
    images, labels = images[order], labels[order]
    n_train = int(len(images) * (1 - test_split))
    return (images[:n_train], labels[:n_train]), (images[n_train:], labels[n_train:])
