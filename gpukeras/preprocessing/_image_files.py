"""Reading image files that may be hostile: sizes checked before decoding, clear errors.

Pillow decodes (``load_img``); nothing here follows a link out of the directory it was
asked to read (``list_images``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gpukeras import backend as K
from gpukeras.preprocessing._image_libraries import pil_image
from gpukeras.saving._errors import FileFormatError

#: Files larger than this are refused before they are read.
MAX_IMAGE_BYTES = 256 * 2**20
#: Images with more pixels than this are refused before they are decoded (Pillow reads
#: the size from the header), so a small file cannot expand into gigabytes.
MAX_IMAGE_PIXELS = 2**26
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff")
COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def checked_color_mode(color_mode: Any) -> str:
    if color_mode not in COLOR_MODES:
        raise ValueError(
            f"`color_mode` must be one of {tuple(COLOR_MODES)}. Received: color_mode={color_mode!r}"
        )
    return color_mode


def _checked_size(path: str) -> None:
    size = os.stat(path).st_size
    if size > MAX_IMAGE_BYTES:
        raise FileFormatError(
            f"{path}: the file is {size} bytes, over the {MAX_IMAGE_BYTES}-byte limit for "
            "an image (gpukeras.preprocessing._image_files.MAX_IMAGE_BYTES)."
        )


def load_img(
    path: str | os.PathLike,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
) -> Any:
    """Loads an image file as a Pillow image, refusing oversized or undecodable files.

    Args:
        path: The image file. Required.
        color_mode: ``'grayscale'``, ``'rgb'`` or ``'rgba'``; default ``'rgb'``.
        target_size: ``(height, width)`` to resize to; default None (as stored).
        interpolation: Pillow resampling for the resize: ``'nearest'``, ``'bilinear'``,
            ``'bicubic'``, ``'hamming'``, ``'box'`` or ``'lanczos'``; default ``'nearest'``.

    Raises:
        FileFormatError: the file is too large, has too many pixels, or is not an image.
    """
    mode = COLOR_MODES[checked_color_mode(color_mode)]
    if interpolation not in _RESAMPLING:
        raise ValueError(
            f"`interpolation` must be one of {_RESAMPLING}. "
            f"Received: interpolation={interpolation!r}"
        )
    path = os.fspath(path)
    _checked_size(path)
    image_module = pil_image()
    try:
        with image_module.open(path) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise FileFormatError(
                    f"{path}: the image is {width}x{height} pixels, over the "
                    f"{MAX_IMAGE_PIXELS}-pixel limit (checked before decoding)."
                )
            image = image.convert(mode)  # decodes
    except FileFormatError:
        raise
    except (OSError, ValueError, SyntaxError, image_module.DecompressionBombError) as error:
        raise FileFormatError(f"{path} is not a readable image: {error}") from error
    if target_size is not None and image.size != (target_size[1], target_size[0]):
        resample = getattr(image_module.Resampling, interpolation.upper())
        image = image.resize((target_size[1], target_size[0]), resample)
    return image


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A Pillow image as a 3-d NumPy array (channels last unless ``data_format`` says)."""
    array = np.asarray(img, dtype=dtype or K.floatx())
    if array.ndim == 2:
        array = array[:, :, None]
    if (data_format or K.image_data_format()) == "channels_first":
        array = array.transpose(2, 0, 1)
    return array


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True) -> Any:
    """A 3-d array as a Pillow image (``scale`` maps its range onto 0-255)."""
    x = np.asarray(K.to_host(x), dtype="float64")
    if x.ndim != 3:
        raise ValueError(f"array_to_img needs a 3-d image array. Received: x.shape={x.shape}")
    if (data_format or K.image_data_format()) == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - x.min()
        x = x / x.max() * 255 if x.max() > 0 else x
    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    if x.shape[2] not in modes:
        raise ValueError(f"array_to_img needs 1, 3 or 4 channels. Received: x.shape={x.shape}")
    pixels = np.clip(x, 0, 255).astype("uint8")
    return pil_image().fromarray(pixels[:, :, 0] if x.shape[2] == 1 else pixels, modes[x.shape[2]])


def _inside(root: str, path: str) -> bool:
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def checked_inside(root: str, path: str) -> str:
    """``path``, refused if it now resolves outside ``root`` (replaced by a link since
    it was listed)."""
    if not _inside(root, path):
        raise FileFormatError(
            f"{path} now leads out of the directory {root}; flow_from_directory reads only "
            "files inside it."
        )
    return path


def list_images(root: str, folder: str, follow_links: bool) -> list[str]:
    """Image files under ``root/folder`` (relative to ``root``), sorted.

    Links are resolved and must stay inside ``root`` (a link out of it is an error, not
    a silent skip); directory links are entered only with ``follow_links``, each real
    directory once (so a link loop ends). Each file's size is checked here, before any
    decoding.
    """
    found: list[str] = []
    seen: set[str] = set()
    start = os.path.join(root, folder)
    if not _inside(root, start):
        raise FileFormatError(
            f"{start} is a link that leads out of the directory {root}; "
            "flow_from_directory reads only files inside it."
        )
    pending = [start]
    while pending:
        current = pending.pop()
        real = os.path.realpath(current)
        if real in seen:
            continue
        seen.add(real)
        with os.scandir(current) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_symlink() and not _inside(root, entry.path):
                    raise FileFormatError(
                        f"{entry.path} is a link that leads out of the directory {root}; "
                        "flow_from_directory reads only files inside it."
                    )
                if entry.is_dir(follow_symlinks=follow_links):
                    pending.append(entry.path)
                elif entry.is_file() and entry.name.lower().endswith(IMAGE_EXTENSIONS):
                    _checked_size(entry.path)
                    found.append(os.path.relpath(entry.path, root))
    return sorted(found)
