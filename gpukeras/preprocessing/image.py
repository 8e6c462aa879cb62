"""Keras 1/2's ``keras.preprocessing.image``: ``ImageDataGenerator`` and image file helpers.

This module is their home (Keras 3 still ships it), so it imports without a warning.
SciPy (the augmentation's geometry) and Pillow (image files) are needed only when used:
``pip install gpukeras[image]``.
"""

from gpukeras.preprocessing._affine import apply_affine_transform
from gpukeras.preprocessing._directory_iterator import DirectoryIterator
from gpukeras.preprocessing._image_files import array_to_img, img_to_array, load_img
from gpukeras.preprocessing._image_generator import ImageDataGenerator
from gpukeras.preprocessing._image_iterators import Iterator, NumpyArrayIterator

__all__ = [
    "ImageDataGenerator",
    "Iterator",
    "NumpyArrayIterator",
    "DirectoryIterator",
    "load_img",
    "img_to_array",
    "array_to_img",
    "apply_affine_transform",
]
