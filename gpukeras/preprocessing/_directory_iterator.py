"""DirectoryIterator: augmented batches of the image files in class subfolders."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gpukeras.preprocessing._image_arguments import (
    checked_positive_int,
    checked_subset,
)
from gpukeras.preprocessing._image_files import (
    checked_color_mode,
    checked_inside,
    img_to_array,
    list_images,
    load_img,
)
from gpukeras.preprocessing._image_iterators import Iterator

CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


class DirectoryIterator(Iterator):
    """Batches of the images in ``directory``, one subfolder per class.

    The directory is treated as untrusted: links leading out of it are refused (a
    FileFormatError naming the link), directory links are entered only with
    ``follow_links`` and only within it, each file's size is checked when listed and
    each image's pixel count before it is decoded; an unreadable image is a
    FileFormatError naming the file when its batch is read.

    Args:
        directory: The folder holding one subfolder per class. Required.
        image_data_generator: The ImageDataGenerator that augments. Required.
        target_size: ``(height, width)`` every image is resized to; default (256, 256).
        color_mode: ``'grayscale'``, ``'rgb'`` or ``'rgba'``; default ``'rgb'``.
        classes: Subfolder names, in label order; default all subfolders, sorted.
        class_mode: ``'categorical'`` (one-hot), ``'binary'``, ``'sparse'`` (class
            index), ``'input'`` (the images are the targets) or ``None`` (no targets).
        batch_size: Images per batch; default 32.
        shuffle: New order every epoch; default True.
        seed: Int seed; default None.
        follow_links: Enter links to folders (inside ``directory``); default False.
        subset: ``'training'`` or ``'validation'`` with the generator's validation split.
        interpolation: Pillow resampling used to resize; default ``'nearest'``.
        dtype: dtype of the image batches; default the generator's.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        image_data_generator: Any,
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
        dtype: Any = None,
    ) -> None:
        self.directory = os.path.realpath(os.fspath(directory))
        if not os.path.isdir(self.directory):
            raise ValueError(
                f"`directory` must be an existing folder. Received: directory={directory!r}"
            )
        if class_mode not in CLASS_MODES:
            raise ValueError(
                f"`class_mode` must be one of {CLASS_MODES}. Received: class_mode={class_mode!r}"
            )
        self.image_data_generator = image_data_generator
        self.target_size = _checked_target_size(target_size)
        self.color_mode = checked_color_mode(color_mode)
        self.class_mode = class_mode
        self.interpolation = interpolation
        self.dtype = np.dtype(dtype or image_data_generator.dtype)
        self.data_format = image_data_generator.data_format
        class_names = self._class_names(classes)
        self.class_indices = {name: index for index, name in enumerate(class_names)}
        self.num_classes = len(class_names)
        split = image_data_generator._validation_split
        subset = checked_subset(subset, split)
        self.filenames, self.classes = self._files(class_names, follow_links, subset, split)
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _class_names(self, classes: list[str] | None) -> list[str]:
        if classes is None:
            with os.scandir(self.directory) as entries:
                return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
        for name in classes:
            folder = os.path.join(self.directory, name)
            if os.path.basename(os.path.normpath(name)) != name or not os.path.isdir(folder):
                raise ValueError(
                    f"`classes` must name subfolders of {self.directory}. Received: {name!r}"
                )
        return list(classes)

    def _files(
        self, class_names: list[str], follow_links: bool, subset: str | None, split: float
    ) -> tuple[list[str], np.ndarray]:
        filenames: list[str] = []
        labels: list[int] = []
        for index, name in enumerate(class_names):
            found = list_images(self.directory, name, follow_links)
            if subset is not None:  # the first `split` of each class validates, as in Keras
                boundary = int(len(found) * split)
                found = found[:boundary] if subset == "validation" else found[boundary:]
            filenames += found
            labels += [index] * len(found)
        return filenames, np.asarray(labels, dtype="int32")

    @property
    def filepaths(self) -> list[str]:
        """Absolute paths of the images, in label order."""
        return [os.path.join(self.directory, name) for name in self.filenames]

    def _path(self, row: int) -> str:
        return os.path.join(self.directory, self.filenames[row])

    @property
    def labels(self) -> np.ndarray:
        """The class index of each image."""
        return self.classes

    @property
    def image_shape(self) -> tuple[int, int, int]:
        channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[self.color_mode]
        if self.data_format == "channels_first":
            return (channels, *self.target_size)
        return (*self.target_size, channels)

    def _batch(self, rows: np.ndarray, rng: np.random.Generator) -> Any:
        images = [
            img_to_array(
                load_img(checked_inside(self.directory, self._path(row)), self.color_mode,
                         self.target_size, self.interpolation),
                self.data_format, self.dtype,
            )
            for row in rows
        ]  # fmt: skip
        batch = self._augmented(images, rng)
        if self.class_mode is None:
            return batch
        if self.class_mode == "input":
            return batch, batch.copy()
        labels = self.classes[rows]
        if self.class_mode == "categorical":
            return batch, np.eye(self.num_classes, dtype=self.dtype)[labels]
        return batch, labels.astype(self.dtype)


def _checked_target_size(value: Any) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"`target_size` must be (height, width). Received: target_size={value!r}")
    return checked_positive_int("target_size", value[0]), checked_positive_int(
        "target_size", value[1]
    )
