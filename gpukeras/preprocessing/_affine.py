"""The image transforms of ImageDataGenerator, applied to one host (NumPy) image.

Geometry follows Keras up to 2.2.4: one 3x3 matrix composed from rotation, shift, shear
and zoom, in (row, column) coordinates, about the image centre; SciPy's
``ndimage.affine_transform`` then resamples each channel (output pixel ``o`` reads the
input at ``M @ o``). So a positive row shift moves the picture up, and a zoom factor
above 1 shows more of it (the picture shrinks), as in Keras.
"""

from __future__ import annotations

import numpy as np

from gpukeras.preprocessing._image_libraries import ndimage

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def _rotation(degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    return np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])


def _shift(rows: float, cols: float) -> np.ndarray:
    return np.array([[1.0, 0.0, rows], [0.0, 1.0, cols], [0.0, 0.0, 1.0]])


def _shear(degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    return np.array([[1.0, -np.sin(angle), 0.0], [0.0, np.cos(angle), 0.0], [0.0, 0.0, 1.0]])


def _zoom(rows: float, cols: float) -> np.ndarray:
    return np.diag([rows, cols, 1.0])


def transform_matrix(
    theta: float = 0, tx: float = 0, ty: float = 0, shear: float = 0, zx: float = 1, zy: float = 1
) -> np.ndarray | None:
    """The composed sampling matrix (``None`` when every part is the identity).

    ``theta`` and ``shear`` are in degrees; ``tx``/``zx`` act on rows, ``ty``/``zy`` on
    columns, as Keras named them.
    """
    parts = [
        (theta != 0, lambda: _rotation(theta)),
        (tx != 0 or ty != 0, lambda: _shift(tx, ty)),
        (shear != 0, lambda: _shear(shear)),
        (zx != 1 or zy != 1, lambda: _zoom(zx, zy)),
    ]
    matrix = None
    for present, build in parts:
        if present:
            matrix = build() if matrix is None else matrix @ build()
    return matrix


def _about_centre(matrix: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``matrix`` applied about the image centre rather than the top-left pixel."""
    centre = _shift(rows / 2 - 0.5, cols / 2 - 0.5)
    back = _shift(-(rows / 2 - 0.5), -(cols / 2 - 0.5))
    return centre @ matrix @ back


def apply_affine_transform(
    x: np.ndarray,
    theta: float = 0,
    tx: float = 0,
    ty: float = 0,
    shear: float = 0,
    zx: float = 1,
    zy: float = 1,
    row_axis: int = 0,
    col_axis: int = 1,
    channel_axis: int = 2,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    order: int = 1,
) -> np.ndarray:
    """One 3-d image rotated, shifted, sheared and zoomed (see the module docstring).

    Args:
        x: A 3-d NumPy image. Required.
        theta: Rotation in degrees; default 0.
        tx: Shift in rows (pixels); default 0.
        ty: Shift in columns (pixels); default 0.
        shear: Shear angle in degrees; default 0.
        zx: Zoom factor of rows; default 1.
        zy: Zoom factor of columns; default 1.
        row_axis: Axis of rows in ``x``; default 0.
        col_axis: Axis of columns in ``x``; default 1.
        channel_axis: Axis of channels in ``x`` (0 or 2); default 2.
        fill_mode: How points outside the image are filled: one of ``FILL_MODES``;
            default ``'nearest'``.
        cval: The fill value for ``fill_mode='constant'``; default 0.
        order: Spline interpolation order (0 nearest, 1 bilinear); default 1.
    """
    if x.ndim != 3 or sorted((row_axis, col_axis, channel_axis)) != [0, 1, 2]:
        raise ValueError(
            "apply_affine_transform needs a 3-d image and distinct row, column and channel "
            f"axes. Received: x.shape={x.shape}, axes={(row_axis, col_axis, channel_axis)}"
        )
    matrix = transform_matrix(theta, tx, ty, shear, zx, zy)
    if matrix is None:
        return x
    matrix = _about_centre(matrix, x.shape[row_axis], x.shape[col_axis])
    planes = np.moveaxis(x, channel_axis, 0)
    if row_axis > col_axis:  # the matrix is in (row, column) order
        planes = planes.swapaxes(1, 2)
    resample = ndimage().affine_transform
    out = np.stack(
        [
            resample(plane, matrix[:2, :2], matrix[:2, 2], order=order, mode=fill_mode, cval=cval)
            for plane in planes
        ]
    )
    if row_axis > col_axis:
        out = out.swapaxes(1, 2)
    return np.moveaxis(out, 0, channel_axis).astype(x.dtype, copy=False)


def apply_channel_shift(x: np.ndarray, intensity: float, channel_axis: int = 2) -> np.ndarray:
    """Adds ``intensity`` to every channel, clipped to the image's own value range."""
    del channel_axis  # the same shift for every channel, as Keras does
    low, high = x.min(), x.max()
    return np.clip(x + intensity, low, high).astype(x.dtype, copy=False)


def apply_brightness_shift(x: np.ndarray, brightness: float) -> np.ndarray:
    """Scales the image by ``brightness``, clipped to [0, 255] as Keras's Pillow step does."""
    return np.clip(x * brightness, 0, 255).astype(x.dtype, copy=False)


def flip_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """``x`` mirrored along ``axis`` (a copy, so later in-place steps are safe)."""
    return np.flip(x, axis).copy()
