"""Data sets with Keras's ``load_data()`` interface.

``digits`` ships inside gpukeras (1797 8x8 images); ``mnist`` reads a cached copy.
"""

from gpukeras.datasets import digits, mnist

__all__ = ["digits", "mnist"]
