"""ImageDataGenerator: augmented, normalised image batches for ``fit`` (Keras 1/2's API)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from gpukeras import backend as K
from gpukeras._legacy import legacy_arguments
from gpukeras.backend import random as backend_random
from gpukeras.preprocessing import _affine
from gpukeras.preprocessing._image_arguments import (
    checked_range,
    checked_shift,
    checked_zoom,
    data_format_from_dim_ordering,
    image_axes,
    normalized_data_format,
)

_NOT_FITTED = (
    "This ImageDataGenerator specifies `{}`, but it has not been fit on any training data. "
    "Fit it first by calling `.fit(numpy_data)`."
)


def _choice(rng: np.random.Generator, value: Any, size: int) -> float:
    """A shift in pixels: a float range is a uniform draw (a fraction below 1 is of
    ``size``), a list is a choice of offsets either way, as in Keras."""
    if isinstance(value, (list, tuple, np.ndarray)):
        shift = float(rng.choice(value)) * rng.choice([-1, 1])
    else:
        shift = rng.uniform(-value, value)
    return shift * size if np.max(value) < 1 else shift


class ImageDataGenerator:
    """Generates batches of images with real-time augmentation (Keras 2's API).

    Images are NumPy arrays on the host: the augmentation runs there (SciPy's
    ``ndimage.affine_transform`` for the geometry, Pillow to read files; both come with
    ``pip install gpukeras[image]``), and ``fit`` moves each finished batch to the
    device. ``flow`` and ``flow_from_directory`` return a :class:`Iterator`, a
    ``gpukeras.utils.Sequence`` that ``fit``/``fit_generator`` accept directly.

    Args:
        featurewise_center: Subtract the per-channel mean found by :meth:`fit`; default False.
        samplewise_center: Subtract each image's own mean; default False.
        featurewise_std_normalization: Divide by the per-channel std found by :meth:`fit`.
        samplewise_std_normalization: Divide each image by its own std; default False.
        zca_whitening: Apply the ZCA whitening matrix found by :meth:`fit`; default False.
        zca_epsilon: Added to the singular values in ZCA whitening; default 1e-6.
        rotation_range: Random rotations within +-degrees; default 0.
        width_shift_range: Horizontal shifts: a float (a fraction of the width if < 1,
            else pixels), or a list of allowed pixel offsets; default 0.
        height_shift_range: Vertical shifts, as ``width_shift_range``; default 0.
        brightness_range: ``(low, high)`` brightness factors; default None.
        shear_range: Random shears within +-degrees; default 0.
        zoom_range: A float ``z`` (zooms in ``[1-z, 1+z]``) or ``[low, high]``; default 0.
        channel_shift_range: Random channel shifts within +-this value; default 0.
        fill_mode: ``'constant'``, ``'nearest'``, ``'reflect'`` or ``'wrap'``; default
            ``'nearest'``.
        cval: The fill value for ``fill_mode='constant'``; default 0.
        horizontal_flip: Randomly mirror left-right; default False.
        vertical_flip: Randomly mirror top-bottom; default False.
        rescale: Multiply every image by this factor (after augmentation); default None.
        preprocessing_function: Called on each image after augmentation, before the
            other normalisation; takes and returns a 3-d array; default None.
        data_format: ``'channels_last'`` or ``'channels_first'``; default keras.json's
            ``image_data_format``. Keras 1's ``dim_ordering='th'|'tf'`` is accepted.
        validation_split: Fraction of the data kept for ``subset='validation'``; default 0.
        interpolation_order: Spline order of the geometric resampling; default 1.
        dtype: dtype of the batches; default ``backend.floatx()``.
    """

    @legacy_arguments(
        "ImageDataGenerator", {"dim_ordering": ("data_format", data_format_from_dim_ordering)}
    )
    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        zca_whitening: bool = False,
        zca_epsilon: float = 1e-6,
        rotation_range: float = 0,
        width_shift_range: Any = 0.0,
        height_shift_range: Any = 0.0,
        brightness_range: Any = None,
        shear_range: float = 0.0,
        zoom_range: Any = 0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Callable[[np.ndarray], np.ndarray] | None = None,
        data_format: str | None = None,
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype: Any = None,
    ) -> None:
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = checked_range("rotation_range", rotation_range)
        self.width_shift_range = checked_shift("width_shift_range", width_shift_range)
        self.height_shift_range = checked_shift("height_shift_range", height_shift_range)
        self.brightness_range = _checked_brightness(brightness_range)
        self.shear_range = checked_range("shear_range", shear_range)
        self.zoom_range = checked_zoom(zoom_range)
        self.channel_shift_range = checked_range("channel_shift_range", channel_shift_range)
        self.fill_mode = _checked_fill_mode(fill_mode)
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise TypeError(
                "`preprocessing_function` must be callable. "
                f"Received: preprocessing_function={preprocessing_function!r}"
            )
        self.preprocessing_function = preprocessing_function
        self.data_format = normalized_data_format(data_format)
        self.channel_axis, self.row_axis, self.col_axis = image_axes(self.data_format, batch=True)
        if not 0 <= validation_split < 1:
            raise ValueError(
                "`validation_split` must be in [0, 1). "
                f"Received: validation_split={validation_split!r}"
            )
        self._validation_split = float(validation_split)
        self.interpolation_order = interpolation_order
        self.dtype = np.dtype(dtype or K.floatx())
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.zca_whitening_matrix: np.ndarray | None = None
        self._implied("zca_whitening", "featurewise_center")
        self._implied("featurewise_std_normalization", "featurewise_center")
        self._implied("samplewise_std_normalization", "samplewise_center")

    def _implied(self, option: str, needed: str) -> None:
        """Keras turns on the centring that a normalisation needs, with a warning."""
        if getattr(self, option) and not getattr(self, needed):
            setattr(self, needed, True)
            warnings.warn(
                f"ImageDataGenerator: `{option}` overrides `{needed}=False`; "
                f"setting `{needed}=True`.",
                stacklevel=3,
            )

    def flow(
        self,
        x: Any,
        y: Any = None,
        batch_size: int = 32,
        shuffle: bool = True,
        sample_weight: Any = None,
        seed: int | None = None,
        subset: str | None = None,
    ) -> Any:
        """An :class:`Iterator` over augmented batches of the arrays ``x`` (and ``y``).

        Args:
            x: Images, a rank-4 array. Required.
            y: Labels, one per image; default None (batches are ``x`` alone).
            batch_size: Images per batch; default 32.
            shuffle: New random order every epoch; default True.
            sample_weight: Weights, one per image; default None.
            seed: Seed of the order and the augmentation; default None (drawn from
                gpukeras's seeded host stream, ``utils.set_random_seed``).
            subset: ``'training'`` or ``'validation'`` with ``validation_split``; default None.
        """
        from gpukeras.preprocessing._image_iterators import NumpyArrayIterator

        return NumpyArrayIterator(
            x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
            seed=seed, subset=subset, dtype=self.dtype,
        )  # fmt: skip

    def flow_from_directory(
        self,
        directory: str,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
    ) -> Any:
        """An :class:`Iterator` over the images in ``directory``'s class subfolders.

        See :class:`gpukeras.preprocessing.image.DirectoryIterator` for the arguments and
        for how the directory is treated as untrusted.
        """
        from gpukeras.preprocessing._directory_iterator import DirectoryIterator

        return DirectoryIterator(
            directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
            class_mode=class_mode, batch_size=batch_size, shuffle=shuffle, seed=seed,
            follow_links=follow_links, subset=subset, interpolation=interpolation,
            dtype=self.dtype,
        )  # fmt: skip

    def standardize(self, x: np.ndarray) -> np.ndarray:
        """The normalisation steps applied to one image (or a batch), in Keras's order:
        ``preprocessing_function``, ``rescale``, samplewise, featurewise, ZCA."""
        if self.preprocessing_function is not None:
            x = self.preprocessing_function(x)
        if self.rescale:
            x = x * self.rescale
        if self.samplewise_center:
            x = x - np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x = x / (np.std(x, keepdims=True) + 1e-6)
        if self.featurewise_center:
            x = self._fitted(x, "featurewise_center", self.mean, np.subtract)
        if self.featurewise_std_normalization:
            x = self._fitted(x, "featurewise_std_normalization", self.std + 1e-6
                             if self.std is not None else None, np.divide)  # fmt: skip
        if self.zca_whitening:
            x = self._whitened(x)
        return np.asarray(x, dtype=self.dtype)

    @staticmethod
    def _fitted(x: np.ndarray, name: str, statistic: Any, operation: Any) -> np.ndarray:
        if statistic is None:
            warnings.warn(_NOT_FITTED.format(name), stacklevel=4)
            return x
        return operation(x, statistic)

    def _whitened(self, x: np.ndarray) -> np.ndarray:
        if self.zca_whitening_matrix is None:
            warnings.warn(_NOT_FITTED.format("zca_whitening"), stacklevel=3)
            return x
        flat = x.reshape(-1, int(np.prod(x.shape[-3:])))
        return (flat @ self.zca_whitening_matrix).reshape(x.shape)

    def get_random_transform(self, img_shape: tuple[int, ...], seed: Any = None) -> dict[str, Any]:
        """Random parameters for one image's augmentation (see :meth:`apply_transform`).

        Args:
            img_shape: Shape of the (3-d) image. Required.
            seed: An int seed, or a ``numpy.random.Generator``; default None (drawn
                from gpukeras's seeded host stream, ``utils.set_random_seed``).
        """
        rng = seed if isinstance(seed, np.random.Generator) else _generator(seed)
        rows, cols = img_shape[self.row_axis - 1], img_shape[self.col_axis - 1]

        def symmetric(limit: float) -> float:
            return float(rng.uniform(-limit, limit)) if limit else 0.0

        zoom = (1.0, 1.0)
        if tuple(self.zoom_range) != (1.0, 1.0):
            zoom = tuple(float(z) for z in rng.uniform(*self.zoom_range, 2))
        return {
            "theta": symmetric(self.rotation_range),
            "tx": _choice(rng, self.height_shift_range, rows) if _on(self.height_shift_range)
            else 0.0,
            "ty": _choice(rng, self.width_shift_range, cols) if _on(self.width_shift_range)
            else 0.0,
            "shear": symmetric(self.shear_range),
            "zx": zoom[0],
            "zy": zoom[1],
            "flip_horizontal": bool(self.horizontal_flip and rng.random() < 0.5),
            "flip_vertical": bool(self.vertical_flip and rng.random() < 0.5),
            "channel_shift_intensity": symmetric(self.channel_shift_range)
            if self.channel_shift_range else None,
            "brightness": float(rng.uniform(*self.brightness_range))
            if self.brightness_range is not None else None,
        }  # fmt: skip

    def apply_transform(self, x: np.ndarray, transform_parameters: dict[str, Any]) -> np.ndarray:
        """One 3-d image transformed by ``transform_parameters`` (keys as returned by
        :meth:`get_random_transform`; missing keys leave that part out)."""
        params = transform_parameters
        channel, row, col = self.channel_axis - 1, self.row_axis - 1, self.col_axis - 1
        x = _affine.apply_affine_transform(
            x, params.get("theta", 0), params.get("tx", 0), params.get("ty", 0),
            params.get("shear", 0), params.get("zx", 1), params.get("zy", 1),
            row_axis=row, col_axis=col, channel_axis=channel, fill_mode=self.fill_mode,
            cval=self.cval, order=self.interpolation_order,
        )  # fmt: skip
        if params.get("channel_shift_intensity") is not None:
            x = _affine.apply_channel_shift(x, params["channel_shift_intensity"], channel)
        if params.get("flip_horizontal"):
            x = _affine.flip_axis(x, col)
        if params.get("flip_vertical"):
            x = _affine.flip_axis(x, row)
        if params.get("brightness") is not None:
            x = _affine.apply_brightness_shift(x, params["brightness"])
        return x

    def random_transform(self, x: np.ndarray, seed: Any = None) -> np.ndarray:
        """One 3-d image with a random augmentation applied (``seed`` as in
        :meth:`get_random_transform`)."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x: Any, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """Computes the featurewise statistics (mean, std, ZCA matrix) of sample data.

        ``rescale`` is applied to the data first, as Keras does; with ``augment=True``
        the statistics are of ``rounds`` randomly augmented copies.

        Args:
            x: Sample images, a rank-4 array. Required.
            augment: Fit on augmented copies; default False.
            rounds: Augmented copies of each image with ``augment=True``; default 1.
            seed: Seed of the augmentation; default None (drawn from gpukeras's seeded
                host stream).
        """
        x = np.array(K.to_host(x), dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(
                f"ImageDataGenerator.fit needs rank-4 images. Received: x.shape={x.shape}"
            )
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"`rounds` must be a positive int. Received: rounds={rounds!r}")
        if self.rescale:
            x *= self.rescale
        if augment:
            rng = _generator(seed)
            x = np.stack([self.random_transform(image, rng) for _ in range(rounds) for image in x])
        self._fit_statistics(x)

    def _fit_statistics(self, x: np.ndarray) -> None:
        axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.mean(x, axis=axes, keepdims=True)[0]
            x = x - self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=axes, keepdims=True)[0]
            x = x / (self.std + 1e-6)
        if self.zca_whitening:
            flat = x.reshape(len(x), -1)
            # The singular vectors of the data are the covariance's eigenvectors.
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            scale = np.sqrt(len(x)) / (s + self.zca_epsilon)
            self.zca_whitening_matrix = ((u * scale) @ u.T).astype(self.dtype)


def _generator(seed: int | None) -> np.random.Generator:
    """A generator for ``seed``; without one, seeded from gpukeras's host stream so that
    ``utils.set_random_seed`` makes the augmentation repeatable."""
    if seed is None:
        seed = int(backend_random.host_generator().integers(2**31))
    return np.random.default_rng(seed)


def _on(shift_range: Any) -> bool:
    return bool(np.any(np.asarray(shift_range) != 0))


def _checked_fill_mode(fill_mode: Any) -> str:
    if fill_mode not in _affine.FILL_MODES:
        raise ValueError(
            f"`fill_mode` must be one of {_affine.FILL_MODES}. Received: fill_mode={fill_mode!r}"
        )
    return fill_mode


def _checked_brightness(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(
            "`brightness_range` must be a tuple or list of two floats. "
            f"Received: brightness_range={value!r}"
        )
    return float(value[0]), float(value[1])
