"""The ``.keras`` zip: ``config.json``, ``metadata.json`` and ``model.weights.h5``.

Members are stored uncompressed, as Keras writes them. When reading, every
member name is checked (no absolute paths, ``..`` or duplicates; nothing is
ever extracted to disk), and a member is read only after its declared size
has been compared with the archive's size and its compressed size, so a
decompression bomb is refused before it is inflated.
"""

from __future__ import annotations

import datetime
import json
import lzma
import os
import zipfile
import zlib
from typing import Any

import gpukeras
from gpukeras.saving import _compile_config, _config_write, _hdf5
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._h5safe import MAX_EXPANSION, SIZE_FLOOR
from gpukeras.saving._in_memory import hdf5_image

CONFIG_NAME = "config.json"
METADATA_NAME = "metadata.json"
WEIGHTS_NAME = "model.weights.h5"
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
_JSON_LIMIT = 1 << 26  # 64 MiB of config is already absurd
_MAX_MEMBERS = 10_000


# -- writing ---------------------------------------------------------------------------
def write_keras_zip(file: Any, model: Any) -> None:
    """Write the ``.keras`` archive for ``model`` into the open binary ``file``."""
    config = _config_write.model_config(model)
    compile_config = _compile_config.compile_config(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    metadata = {
        "keras_version": _hdf5.KERAS_VERSION,
        "gpukeras_version": gpukeras.__version__,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    weights = hdf5_image(lambda h5: _hdf5.write_keras3_weights(h5, model))
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(METADATA_NAME, json.dumps(metadata))
        archive.writestr(CONFIG_NAME, json.dumps(config, default=_hdf5.json_default))
        with weights.getbuffer() as data:  # no second copy of the weights
            archive.writestr(WEIGHTS_NAME, data)


# -- reading ---------------------------------------------------------------------------
class KerasZip:
    """The members of a ``.keras`` archive, read with size and name checks.

    Args:
        path: The archive on disk.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.size = os.path.getsize(path)
        try:
            self.archive = zipfile.ZipFile(path, "r")
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            raise FileFormatError(
                f"{path} is not a readable .keras zip archive (it may be truncated or "
                f"damaged): {error}"
            ) from None
        self._check_names()

    def __enter__(self) -> KerasZip:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.archive.close()

    def _check_names(self) -> None:
        infos = self.archive.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise FileFormatError(f"Not allowed: {self.path} has {len(infos)} members.")
        seen = set()
        for info in infos:
            name = info.filename
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
                raise FileFormatError(
                    f"Not allowed: {self.path} has a member whose name leaves the archive: {name!r}"
                )
            if name in seen:
                raise FileFormatError(f"Not allowed: {self.path} has two members named {name!r}")
            seen.add(name)

    def has(self, name: str) -> bool:
        return name in self.archive.NameToInfo

    def read(self, name: str, limit: int) -> bytes:
        """Member ``name``'s bytes, refused if it declares more than is plausible."""
        if not self.has(name):
            raise FileFormatError(f"{self.path} is not a Keras model archive: no {name!r}.")
        info = self.archive.getinfo(name)
        if info.flag_bits & 0x1 or info.compress_type not in _METHODS:
            raise FileFormatError(
                f"Cannot read member {name!r} of {self.path}: it is encrypted or uses "
                f"compression method {info.compress_type} (Keras writes stored or deflate)."
            )
        plausible = min(limit, max(SIZE_FLOOR, MAX_EXPANSION * info.compress_size))
        if info.file_size > plausible or info.compress_size > self.size:
            raise FileFormatError(
                f"Not allowed: member {name!r} of {self.path} declares {info.file_size} bytes "
                f"from {info.compress_size} stored bytes; refusing a possible zip bomb."
            )
        try:
            with self.archive.open(info) as member:
                data = member.read(info.file_size + 1)
        except (
            zipfile.BadZipFile,
            OSError,
            ValueError,
            EOFError,
            NotImplementedError,
            RuntimeError,
            zlib.error,
            lzma.LZMAError,
        ) as error:
            raise FileFormatError(
                f"Cannot read member {name!r} of {self.path} (truncated or damaged?): "
                f"{type(error).__name__}: {error}"
            ) from None
        if len(data) > info.file_size:
            raise FileFormatError(f"Not allowed: member {name!r} of {self.path} is oversized.")
        return data

    def read_json(self, name: str) -> Any:
        from gpukeras.saving._h5safe import parse_json

        data = self.read(name, _JSON_LIMIT)
        try:
            text = data.decode("utf8")
        except UnicodeDecodeError:
            raise FileFormatError(f"Invalid file {self.path}: {name} is not UTF-8") from None
        return parse_json(text, f"{name} in {self.path}")

    def weights_bytes(self) -> bytes:
        # The weights are stored uncompressed, so they cannot exceed the archive.
        return self.read(WEIGHTS_NAME, max(SIZE_FLOOR, MAX_EXPANSION * self.size))
