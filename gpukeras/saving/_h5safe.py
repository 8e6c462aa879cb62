"""Reading HDF5 files that may be hostile: hard links only, plain datasets of sane size.

Every name is split on ``/`` and walked one hard link at a time (soft and
external links could make the file read other files or loop), datasets must
be stored in the file itself (not external or virtual), and a dataset's
declared size is checked against the file's size and the bytes it really
stores before a single element is read (a few bytes of compressed zeros can
declare terabytes). Any h5py failure becomes a :class:`FileFormatError`.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import math
import os
from collections.abc import Iterator
from typing import Any

import h5py
import numpy

from gpukeras.saving._errors import FileFormatError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
# Attributes larger than this do not fit an HDF5 object header: Keras splits them.
ATTRIBUTE_LIMIT = 64512
# Whatever the file, a dataset may declare this much before the ratio rules apply.
SIZE_FLOOR = 1 << 24  # 16 MiB
# Keras writes weights uncompressed; gzip cannot shrink data more than ~1000x.
MAX_EXPANSION = 1000
_MAX_RANK = 32
# Name lists (layer_names, weight_names) may read this many bytes in all.
STRING_LIST_LIMIT = 1 << 26  # 64 MiB
# Groups below a layer's group: Keras nests a handful of levels (layer, inner
# layer, vars); deeper nesting is refused before it is walked.
MAX_GROUP_DEPTH = 32
_MAX_WALKED = 100_000
_STRINGS_LEFT: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "gpukeras_h5_strings_left", default=None
)
_MAX_LIST_LENGTH = 1_000_000
_WEIGHT_KINDS = "iuf"

# The h5py and NumPy errors a malformed file can raise while it is read.
READ_ERRORS = (
    OSError,
    KeyError,
    ValueError,
    TypeError,
    RuntimeError,
    IndexError,
    AttributeError,
    UnicodeDecodeError,
    OverflowError,
    RecursionError,
)


class Budget:
    """How many bytes the datasets of one file may declare, in all and one by one.

    Args:
        label: The file's name, for messages.
        file_bytes: The file's size on disk (or in memory for a zip member).
    """

    def __init__(self, label: str, file_bytes: int) -> None:
        self.label = label
        self.limit = max(SIZE_FLOOR, MAX_EXPANSION * int(file_bytes))

    def check_dataset(self, dataset: h5py.Dataset, path: str) -> int:
        """The dataset's declared bytes, after refusing a shape or compression bomb."""
        if len(dataset.shape) > _MAX_RANK:
            raise FileFormatError(
                f"Invalid file {self.label}: dataset {path!r} has rank {len(dataset.shape)}."
            )
        declared = math.prod(dataset.shape) * dataset.dtype.itemsize
        stored = dataset.id.get_storage_size()
        if declared > self.limit or (declared > SIZE_FLOOR and declared > MAX_EXPANSION * stored):
            raise FileFormatError(
                f"Not allowed: dataset {path!r} in {self.label} declares {declared} bytes "
                f"(shape {tuple(dataset.shape)}) but the file stores {stored} bytes for it "
                "(a shape or decompression bomb); refusing to read it."
            )
        return declared

    def check_total(self, declared: int) -> None:
        """Refuse a file whose datasets together declare far more than the file holds."""
        if declared > self.limit:
            raise FileFormatError(
                f"Not allowed: the weights in {self.label} declare {declared} bytes in all, "
                f"more than {MAX_EXPANSION}x the file's size; refusing to read them."
            )


@contextlib.contextmanager
def open_h5(source: str | bytes, label: str) -> Iterator[tuple[h5py.File, Budget]]:
    """Open a file path (or in-memory bytes) read-only, with its size budget.

    Errors from h5py while the block runs become :class:`FileFormatError`
    naming ``label``; gpukeras's own errors pass through unchanged.
    """
    if isinstance(source, bytes):
        size, opener = len(source), io.BytesIO(source)
    else:
        size, opener = os.path.getsize(source), source
    try:
        file = h5py.File(opener, "r")
    except READ_ERRORS as error:
        raise FileFormatError(
            f"{label} is not a readable HDF5 file (it may be truncated, damaged or of "
            f"another format): {error}"
        ) from None
    strings = _STRINGS_LEFT.set([STRING_LIST_LIMIT])  # one budget for the whole file
    try:
        with translated_errors(label):
            yield file, Budget(label, size)
    finally:
        _STRINGS_LEFT.reset(strings)
        with contextlib.suppress(*READ_ERRORS):
            file.close()


@contextlib.contextmanager
def translated_errors(label: str) -> Iterator[None]:
    """Turn a low-level failure while reading ``label`` into a FileFormatError."""
    try:
        yield
    except FileFormatError:
        raise
    except MemoryError as error:
        raise FileFormatError(
            f"Not allowed: loading {label} needs more memory than is available ({error})."
        ) from None
    except READ_ERRORS as error:
        raise FileFormatError(
            f"Invalid or damaged file {label}: {type(error).__name__}: {error}"
        ) from None


# -- walking names ------------------------------------------------------------------------
def path_parts(path: str) -> list[str]:
    """``path`` split on ``/``; empty, ``.`` and ``..`` parts are refused."""
    if not isinstance(path, str):
        raise FileFormatError(f"Invalid path in HDF5 file: {path!r} is not a string")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise FileFormatError(f"Invalid path in HDF5 file: {path!r:.200}")
    if len(parts) > MAX_GROUP_DEPTH:
        raise FileFormatError(
            f"Not allowed: path {path[:200]!r}... in the HDF5 file is more than "
            f"{MAX_GROUP_DEPTH} levels deep."
        )
    return parts


def _hard_child(group: h5py.Group, name: str, path: str) -> Any:
    """``group[name]`` if it is a hard link; soft and external links are refused."""
    link = group.get(name, default=None, getclass=True, getlink=True)
    if link is None:
        raise FileFormatError(f"The HDF5 file has no entry {path!r} (in {group.name!r})")
    if link is not h5py.HardLink:
        raise FileFormatError(f"Not allowed: HDF5 file with {link.__name__} at {path!r}")
    return group[name]


def has_entry(group: h5py.Group, name: str) -> bool:
    """Whether ``name`` (one level, no slashes) exists in ``group`` as any kind of link."""
    return group.get(name, default=None, getclass=True, getlink=True) is not None


def safe_group(group: h5py.Group, path: str) -> h5py.Group:
    """The group at ``path`` below ``group``, reached through hard links only."""
    current = group
    for part in path_parts(path):
        current = _hard_child(current, part, path)
        if not isinstance(current, h5py.Group):
            raise FileFormatError(f"Invalid HDF5 file: expected a group at {path!r}")
    return current


def safe_dataset(group: h5py.Group, path: str, budget: Budget) -> h5py.Dataset:
    """The weight dataset at ``path``: in-file, numeric, of a size the file can hold."""
    *folders, name = path_parts(path)
    parent = safe_group(group, "/".join(folders)) if folders else group
    dataset = _hard_child(parent, name, path)
    if not isinstance(dataset, h5py.Dataset):
        raise FileFormatError(f"Invalid HDF5 file: expected a dataset at {path!r}")
    if dataset.external:
        raise FileFormatError(f"Not allowed: HDF5 file with an external dataset at {path!r}")
    if dataset.is_virtual:
        raise FileFormatError(f"Not allowed: HDF5 file with a virtual dataset at {path!r}")
    if dataset.dtype.kind not in _WEIGHT_KINDS or dataset.dtype.fields is not None:
        raise FileFormatError(
            f"Invalid HDF5 file: weight {path!r} has dtype {dataset.dtype}; expected "
            "a float or integer array."
        )
    budget.check_dataset(dataset, path)
    return dataset


def read_dataset(dataset: h5py.Dataset) -> numpy.ndarray:
    """The whole dataset as a host array (checked by :func:`safe_dataset` first)."""
    return numpy.asarray(dataset[()])


def holds_datasets(group: h5py.Group, label: str) -> bool:
    """Whether any dataset lies below ``group`` (hard links only, depth-capped)."""
    pending = [(group, 0)]
    walked = 0
    while pending:
        current, depth = pending.pop()
        for name in current:
            walked += 1
            if walked > _MAX_WALKED:
                raise FileFormatError(
                    f"Not allowed: {label} holds more than {_MAX_WALKED} objects under "
                    f"{group.name!r}."
                )
            if not isinstance(current.get(name, getlink=True), h5py.HardLink):
                continue  # soft and external links are never followed
            child = current[name]
            if isinstance(child, h5py.Dataset):
                return True
            if depth + 1 >= MAX_GROUP_DEPTH:
                raise FileFormatError(
                    f"Not allowed: {label} nests groups more than {MAX_GROUP_DEPTH} deep "
                    f"under {group.name!r}."
                )
            pending.append((child, depth + 1))
    return False


# -- attributes ------------------------------------------------------------------------------
def _read_attribute(group: h5py.Group, name: str, max_bytes: int) -> Any:
    """An attribute's value, refusing one that declares or reads more than ``max_bytes``.

    Variable-length strings declare 16 bytes each, but every one may point at the
    same large heap object: N entries read N copies. Each entry is at most the
    file's size, so an array of them is refused unless N file-sized strings fit
    ``max_bytes`` (Keras writes name lists as fixed-length strings), and the bytes
    really read are counted.
    """
    attribute = group.attrs.get_id(name)
    count = math.prod(attribute.shape or ())
    itemsize = attribute.dtype.itemsize
    if count > _MAX_LIST_LENGTH or count * itemsize > max_bytes:
        raise FileFormatError(
            f"Not allowed: attribute {name!r} of {group.name!r} declares {count} values of "
            f"{itemsize} bytes."
        )
    variable = attribute.dtype.kind == "O"
    if variable and count > 1 and count * group.file.id.get_filesize() > max_bytes:
        raise FileFormatError(
            f"Not allowed: attribute {name!r} of {group.name!r} holds {count} variable-length "
            f"strings, which could read up to {count} times the file's size (more than "
            f"{max_bytes} bytes); Keras stores such lists as fixed-length strings."
        )
    value = group.attrs[name]
    if variable:
        read = sum(len(item) for item in numpy.ravel(numpy.asarray(value, dtype=object)))
        if read > max_bytes:
            raise FileFormatError(
                f"Not allowed: attribute {name!r} of {group.name!r} reads {read} bytes, "
                f"more than {max_bytes}."
            )
    return value


def _as_text(value: Any, where: str) -> str:
    if isinstance(value, (bytes, numpy.bytes_)):
        try:
            return bytes(value).decode("utf8")
        except UnicodeDecodeError:
            raise FileFormatError(f"Invalid file: {where} is not UTF-8 text") from None
    if isinstance(value, str):
        return value
    raise FileFormatError(f"Invalid file: {where} should be text. Received: {value!r:.100}")


def read_json_attribute(group: h5py.Group, name: str, max_bytes: int) -> Any:
    """A JSON attribute (``model_config``, ``training_config``) decoded; None if absent."""
    if name not in group.attrs:
        return None
    shape = group.attrs.get_id(name).shape
    if shape not in ((), (1,)):
        raise FileFormatError(
            f"Invalid file: attribute {name!r} should be one JSON string. Received: an "
            f"array of shape {shape}"
        )
    value = _read_attribute(group, name, max_bytes)
    if isinstance(value, numpy.ndarray) and value.shape == ():
        value = value[()]
    text = _as_text(value, f"attribute {name!r}")
    if len(text) > max_bytes:
        raise FileFormatError(f"Not allowed: attribute {name!r} holds {len(text)} characters.")
    return parse_json(text, f"attribute {name!r}")


def parse_json(text: str | bytes, where: str) -> Any:
    """JSON text decoded, with malformed or absurdly nested text refused clearly."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise FileFormatError(f"Invalid file: {where} is not valid JSON ({error})") from None


def has_string_list(group: h5py.Group, name: str) -> bool:
    return name in group.attrs or f"{name}0" in group.attrs


def read_string_list(group: h5py.Group, name: str) -> list[str]:
    """An attribute written by :func:`write_string_list` (whole or in chunks).

    Every name list of a file opened with :func:`open_h5` reads from one budget of
    ``STRING_LIST_LIMIT`` bytes (a file could otherwise repeat one large string
    in the name list of each of thousands of layers).
    """
    left = _STRINGS_LEFT.get() or [STRING_LIST_LIMIT]
    if name in group.attrs:
        chunks = [name]
    else:
        chunks = []
        while f"{name}{len(chunks)}" in group.attrs and len(chunks) < 10_000:
            chunks.append(f"{name}{len(chunks)}")
    parts = []
    for chunk in chunks:
        part = _read_attribute(group, chunk, left[0])
        left[0] -= _bytes_of(part)
        parts.append(part)
    found = []
    for part in parts:
        for item in numpy.atleast_1d(numpy.asarray(part, dtype=object)).ravel():
            found.append(_as_text(item, f"attribute {name!r} of {group.name!r}"))
    return found


def _bytes_of(value: Any) -> int:
    if isinstance(value, numpy.ndarray) and value.dtype != object:
        return value.nbytes
    return sum(len(item) for item in numpy.ravel(numpy.asarray(value, dtype=object)))


def write_string_list(group: h5py.Group, name: str, values: list[str]) -> None:
    """Store strings as a bytes attribute, split into ``name0``, ``name1``... if too big."""
    encoded = [value.encode("utf8") for value in values]
    too_long = [value for value in encoded if len(value) > ATTRIBUTE_LIMIT]
    if too_long:
        raise RuntimeError(
            f"These names are longer than the HDF5 attribute limit of {ATTRIBUTE_LIMIT} "
            f"bytes and cannot be saved: {too_long}"
        )
    data = numpy.asarray(encoded)
    chunks = 1
    parts = numpy.array_split(data, chunks)
    while any(part.nbytes > ATTRIBUTE_LIMIT for part in parts):
        chunks += 1
        parts = numpy.array_split(data, chunks)
    if chunks == 1:
        group.attrs[name] = data
        return
    for index, part in enumerate(parts):
        group.attrs[f"{name}{index}"] = part


def unique_names(names: list[str]) -> list[str]:
    """Names made distinct (wrappers' inner layers may repeat a variable path)."""
    seen: set[str] = set()
    result = []
    for name in names:
        candidate, count = name, 0
        while candidate in seen:
            count += 1
            candidate = f"{name}_{count}"
        seen.add(candidate)
        result.append(candidate)
    return result
