"""Boston housing prices: 506 suburbs, 13 attributes each, median value in k$.

The data set has an ethical problem (its "B" attribute assumes racial
self-segregation influences prices); Keras and we discourage its use except to
illustrate such problems.
"""

from __future__ import annotations

import numpy as np

from gpukeras.datasets._files import KERAS_DATASETS_URL, fetch
from gpukeras.datasets._npz import ArraySpec, load_npz

__all__ = ["FILE_HASH", "ORIGIN", "load_data"]

ORIGIN = KERAS_DATASETS_URL + "boston_housing.npz"
FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"
_EXPECTED = {
    "x": ArraySpec(dtypes=("f8",), trailing=(13,), max_rows=506),
    "y": ArraySpec(dtypes=("f8",), max_rows=506),
}


def load_data(
    path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Boston housing, downloading Keras's file on first use (sha256-checked).

    Args:
        path: file name in the data set cache, or an absolute path of your own copy.
            Default ``"boston_housing.npz"``.
        test_split: fraction of the samples put in the test set, in [0, 1).
            Default ``0.2``.
        seed: seed of the shuffle before the split. Default ``113``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float64 ``x`` of shape ``(n, 13)``
        (404 and 102 rows with the defaults), float64 ``y`` of shape ``(n,)``.

    Raises:
        ValueError: ``test_split`` outside [0, 1); the file lacks ``x`` or ``y``.
        OSError: the download failed (the message says where to put the file by hand).
    """
    if isinstance(test_split, bool) or not 0 <= test_split < 1:
        raise ValueError(
            f"`test_split` must be a number in [0, 1). Received: test_split={test_split!r}"
        )
    found = fetch(path, ORIGIN, FILE_HASH)
    arrays = load_npz(found, _EXPECTED)
    if "x" not in arrays or "y" not in arrays:
        raise ValueError(f"{found} is not the Boston housing archive: expected arrays x, y")
    x, y = arrays["x"], arrays["y"]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    split = int(len(x) * (1 - test_split))
    return (x[:split], y[:split]), (x[split:], y[split:])
