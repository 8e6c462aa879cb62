"""The two libraries the image utilities stand on, imported only when first needed.

SciPy's ``ndimage.affine_transform`` does the geometric augmentations (what Keras used);
Pillow decodes and resizes image files. Both come with ``pip install gpukeras[image]``;
without them, only the image utilities fail, with an error that says how to get them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXTRA = "pip install gpukeras[image]"


def _required(module: str, library: str, needed_for: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{needed_for} needs {library}, which is not installed. Install it with "
            f"`{_EXTRA}` (or `pip install {library.lower()}`)."
        ) from error


def ndimage() -> Any:
    """``scipy.ndimage``: rotations, shifts, shears and zooms of images."""
    return _required("scipy.ndimage", "SciPy", "ImageDataGenerator's geometric augmentation")


def pil_image() -> Any:
    """``PIL.Image``: decoding and resizing image files."""
    return _required("PIL.Image", "Pillow", "Loading images (load_img, flow_from_directory)")
