"""Data sets with Keras's ``load_data()`` interface.

``digits`` ships inside gpukeras (1797 8x8 images, no download). The others are
downloaded on first use from the same public sources as Keras, checked against
the same sha256 digests, and cached in ``~/.gpukeras/datasets`` (or
``$GPUKERAS_DATA_DIR``); see :func:`gpukeras.utils.get_file`.
"""

from gpukeras.datasets import (
    boston_housing,
    cifar10,
    cifar100,
    digits,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)

__all__ = [
    "boston_housing",
    "cifar10",
    "cifar100",
    "digits",
    "fashion_mnist",
    "imdb",
    "mnist",
    "reuters",
]
