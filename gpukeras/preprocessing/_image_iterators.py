"""Iterators over augmented image batches: the Sequence base and the in-memory one."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gpukeras import backend as K
from gpukeras.backend import random as backend_random
from gpukeras.preprocessing._image_arguments import (
    checked_positive_int,
    checked_subset,
    image_axes,
)
from gpukeras.utils._sequence import Sequence


class Iterator(Sequence):
    """Batches of images, by index (a ``gpukeras.utils.Sequence``) or endlessly by ``next``.

    Every random choice comes from the seed, the epoch and the batch index, so a batch
    is the same whenever and however often it is asked for, and each epoch (counted by
    ``on_epoch_end``, which ``fit`` calls) brings a new order and new augmentations.
    ``next()`` walks the batches in order and starts a new epoch after the last one,
    as Keras 1/2's generator loops expect.

    Args:
        n: Number of samples. Required.
        batch_size: Samples per batch. Required.
        shuffle: New order every epoch. Required.
        seed: Int seed; ``None`` draws one from gpukeras's seeded host stream.
    """

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int | None) -> None:
        super().__init__()
        self.n = n
        self.batch_size = checked_positive_int("batch_size", batch_size)
        self.shuffle = bool(shuffle)
        if seed is None:
            seed = int(backend_random.host_generator().integers(2**31))
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"`seed` must be a non-negative int or None. Received: seed={seed!r}")
        self.seed = int(seed)
        self.epoch = 0
        self.batch_index = 0
        self._order: tuple[int, np.ndarray] | None = None  # (epoch, its sample order)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def _index_array(self) -> np.ndarray:
        """This epoch's sample order, drawn once per epoch."""
        if self._order is None or self._order[0] != self.epoch:
            order = np.arange(self.n)
            if self.shuffle:
                order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
            self._order = (self.epoch, order)
        return self._order[1]

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(
                f"Asked to retrieve batch {index}, but the Iterator has {len(self)} batches."
            )
        rows = self._index_array()[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return self._batch(rows, rng)

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def reset(self) -> None:
        """``next()`` starts again at the first batch of the current epoch."""
        self.batch_index = 0

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> Any:
        if self.batch_index >= len(self):
            self.on_epoch_end()
            self.batch_index = 0
        self.batch_index += 1
        return self[self.batch_index - 1]

    def _batch(self, rows: np.ndarray, rng: np.random.Generator) -> Any:
        # Keras 2's hook for custom iterators; gpukeras's own override _batch instead.
        return self._get_batches_of_transformed_samples(rows)

    def _get_batches_of_transformed_samples(self, index_array: np.ndarray) -> Any:
        """The batch of the samples at ``index_array`` (override in a subclass, as in Keras)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement _get_batches_of_transformed_samples(index_array)"
        )

    def _augmented(self, images: Any, rng: np.random.Generator) -> np.ndarray:
        """Each image augmented, then standardized, by the generator (one at a time)."""
        generator = self.image_data_generator
        out = []
        for image in images:
            image = image.astype(self.dtype)
            params = generator.get_random_transform(image.shape, rng)
            image = generator.apply_transform(image, params)
            out.append(generator.standardize(image))
        return np.stack(out).astype(self.dtype, copy=False)


def _host_array(name: str, value: Any) -> np.ndarray:
    try:
        return K.to_host(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"`{name}` must be an array. Received: {name} of type "
                        f"{type(value).__name__}") from error  # fmt: skip


class NumpyArrayIterator(Iterator):
    """Augmented batches of in-memory images (what ``ImageDataGenerator.flow`` returns).

    Args:
        x: Images, a rank-4 array. Required.
        y: Labels, one per image, or ``None``. Required.
        image_data_generator: The ImageDataGenerator that augments. Required.
        batch_size: Images per batch; default 32.
        shuffle: New order every epoch; default False.
        sample_weight: Weights, one per image; default None.
        seed: Int seed; default None.
        subset: ``'training'`` or ``'validation'`` with the generator's validation split.
        dtype: dtype of the image batches; default the generator's.
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        image_data_generator: Any,
        batch_size: int = 32,
        shuffle: bool = False,
        sample_weight: Any = None,
        seed: int | None = None,
        subset: str | None = None,
        dtype: Any = None,
    ) -> None:
        x = _host_array("x", x)
        if x.ndim != 4:
            raise ValueError(
                "Input data in `NumpyArrayIterator` should have rank 4. "
                f"Received: x.shape={x.shape}"
            )
        arrays = {"y": y, "sample_weight": sample_weight}
        arrays = {k: _host_array(k, v) for k, v in arrays.items() if v is not None}
        for name, array in arrays.items():
            if len(array) != len(x):
                raise ValueError(
                    f"`x` (images) and `{name}` should have the same length. "
                    f"Received: x.shape={x.shape}, {name}.shape={array.shape}"
                )
        split = image_data_generator._validation_split
        subset = checked_subset(subset, split)
        if subset is not None:
            boundary = int(len(x) * split)  # the first `split` of the data validates
            rows = slice(None, boundary) if subset == "validation" else slice(boundary, None)
            x = x[rows]
            arrays = {k: v[rows] for k, v in arrays.items()}
        self.x = x
        self.y = arrays.get("y")
        self.sample_weight = arrays.get("sample_weight")
        self.image_data_generator = image_data_generator
        self.dtype = np.dtype(dtype or image_data_generator.dtype)
        channel_axis, _, _ = image_axes(image_data_generator.data_format, batch=True)
        self.channel_axis = channel_axis
        super().__init__(len(x), batch_size, shuffle, seed)

    def _batch(self, rows: np.ndarray, rng: np.random.Generator) -> Any:
        images = self._augmented(self.x[rows], rng)
        if self.y is None:
            return images
        if self.sample_weight is None:
            return images, self.y[rows]
        return images, self.y[rows], self.sample_weight[rows]
