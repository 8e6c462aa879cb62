"""Fashion-MNIST: 60,000 + 10,000 grayscale 28x28 images of 10 kinds of clothing.

The copyright is held by Zalando SE; the data set is MIT licensed.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

from gpukeras.datasets._files import KERAS_DATASETS_URL, fetch

__all__ = ["BASE_URL", "FILE_HASHES", "load_data"]

BASE_URL = KERAS_DATASETS_URL
CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")
# sha256 of the four files, as in current Keras 3 source (Keras 3.15 checked none).
FILE_HASHES = {
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
    ),
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
    ),
}
# idx magic numbers: unsigned bytes with 1 (labels) or 3 (images) dimensions.
_LABELS_MAGIC, _IMAGES_MAGIC = 0x0801, 0x0803
_MAX_ROWS = 60_000


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST, downloading Keras's four gzip idx files on first use.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(60000, 28, 28)``
        and ``(10000, 28, 28)``, uint8 labels ``(60000,)`` and ``(10000,)`` (0..9).

    Raises:
        OSError: a download failed; the message names the URL and where to put
            the file by hand.
        ValueError: a file is not a gzip idx file of the expected kind.
    """
    paths = {
        name: fetch(name, BASE_URL + name, digest, cache_subdir=CACHE_SUBDIR)
        for name, digest in FILE_HASHES.items()
    }
    y_train = read_idx(paths["train-labels-idx1-ubyte.gz"], _LABELS_MAGIC)
    x_train = read_idx(paths["train-images-idx3-ubyte.gz"], _IMAGES_MAGIC)
    y_test = read_idx(paths["t10k-labels-idx1-ubyte.gz"], _LABELS_MAGIC)
    x_test = read_idx(paths["t10k-images-idx3-ubyte.gz"], _IMAGES_MAGIC)
    return (x_train, y_train), (x_test, y_test)


def read_idx(path: str, magic: int) -> np.ndarray:
    """A gzip-compressed idx file of unsigned bytes as an array of its declared shape.

    The header is read first and checked against Fashion-MNIST's shapes (at most
    60,000 rows of 28x28 images or labels); only then are exactly that many bytes
    inflated, so a gzip bomb is refused before it is paid for.
    """
    rank = magic & 0xFF
    try:
        with gzip.open(path, "rb") as stream:
            head = stream.read(4 + 4 * rank)
            if len(head) < 4 + 4 * rank or struct.unpack(">I", head[:4])[0] != magic:
                raise ValueError(f"{path} is not an idx file with magic number {magic:#06x}")
            shape = struct.unpack(f">{rank}I", head[4:])
            _check_idx_shape(path, shape)
            count = int(np.prod(shape))
            data = stream.read(count)
            extra = stream.read(1)
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} is not a readable gzip file: {error}") from error
    if len(data) != count or extra:
        held = f"{len(data)}" if len(data) != count else "more"
        raise ValueError(f"{path} declares shape {shape} but holds {held} values")
    return np.frombuffer(data, np.uint8).reshape(shape).copy()


def _check_idx_shape(path: str, shape: tuple[int, ...]) -> None:
    if not shape or shape[0] > _MAX_ROWS or tuple(shape[1:]) not in ((), (28, 28)):
        raise ValueError(
            f"{path} declares shape {shape}; Fashion-MNIST files hold at most {_MAX_ROWS} "
            "labels or 28x28 images"
        )
