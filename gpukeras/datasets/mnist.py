"""MNIST, read from a copy cached on this machine (gpukeras does not download yet)."""

from __future__ import annotations

import numpy as np

from gpukeras.datasets._files import DATA_DIR_ENV_VAR, find_cached

__all__ = ["MNIST_URL", "load_data"]

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_data(
    path: str = "mnist.npz",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST from a cached ``mnist.npz`` (Keras's file).

    Args:
        path: file name looked for in the cache folders, or an absolute path.
            Default ``"mnist.npz"``. With ``$GPUKERAS_DATA_DIR`` set, only that folder
            is searched; otherwise ``~/.keras/datasets`` then ``~/.gpukeras/datasets``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as stored: for the real file uint8
        images ``(60000, 28, 28)`` / ``(10000, 28, 28)`` and uint8 labels.

    Raises:
        FileNotFoundError: no cached copy; the message gives the URL to fetch it from
            and the places it may be put.
        ValueError: the file lacks one of the arrays x_train, y_train, x_test, y_test.
    """
    found, looked_at = find_cached(path)
    if found is None:
        raise FileNotFoundError(_missing_message(path, looked_at))
    with np.load(found, allow_pickle=False) as archive:
        missing = [key for key in _KEYS if key not in archive.files]
        if missing:
            raise ValueError(
                f"{found} is not an MNIST archive: it lacks {', '.join(missing)}. "
                f"Expected arrays {', '.join(_KEYS)}. Received: {', '.join(archive.files)}"
            )
        x_train, y_train, x_test, y_test = (archive[key] for key in _KEYS)
    return (x_train, y_train), (x_test, y_test)


def _missing_message(path: str, looked_at: list[str]) -> str:
    return (
        f"No cached copy of MNIST ({path!r}); gpukeras does not download data sets yet. "
        f"Looked at: {', '.join(looked_at)}. Download {MNIST_URL} by hand and save it as "
        f"{looked_at[0]} (or set {DATA_DIR_ENV_VAR} to the folder that holds it)."
    )
