"""Reading Keras's ``.npz`` data set files as hostile input: every header checked first.

Keras's data sets have known arrays, dtypes and shapes. Each ``.npy`` member's
header is read (a few hundred bytes) and checked against them before a byte of
data is inflated: a dtype that is not the expected one (object, void ``|V0``,
any zero-itemsize dtype), a shape that is not the data set's, a member that
would inflate to more than its header says or more than 1000x its compressed
size (a deflate/bzip2 bomb), an encrypted member or an unknown compression
method are refused with an error naming the file and the member. Numeric data
is then read as raw bytes (never pickled); object arrays (IMDB's and
Reuters's ragged sequences) go through :mod:`_safe_pickle`.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import zipfile
from typing import Any

import numpy as np

from gpukeras.datasets._safe_pickle import ArrayPlan, load_raw_pickle

# A member may inflate to 1000x its compressed size (real data: 1x-10x) once past this.
MAX_EXPANSION = 1000
EXPANSION_FLOOR_BYTES = 1 << 20
_HEADER_BYTES = 1 << 16
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
_NUMERIC_KINDS = "biuf"
_READ_ERRORS = (
    zipfile.BadZipFile,
    EOFError,
    OSError,
    ValueError,
    TypeError,
    NotImplementedError,
    RuntimeError,
    pickle.UnpicklingError,
    RecursionError,
    MemoryError,
)


@dataclasses.dataclass(frozen=True)
class ArraySpec:
    """What one member of a known ``.npz`` may be.

    Attributes:
        dtypes: accepted dtype codes without byte order (``'u1'``, ``'i8'``, ``'O'``).
        trailing: the shape after the first axis (``(28, 28)`` for MNIST images).
        max_rows: the most rows (first axis) accepted.
        max_bytes: for object arrays, the most bytes their pickle may take.
    """

    dtypes: tuple[str, ...]
    trailing: tuple[int, ...] | None = ()
    max_rows: int = 1 << 31
    max_bytes: int = 1 << 28


# Without a spec (a file of unknown content): any numeric array up to 256 MiB.
ANY_ARRAY = ArraySpec(dtypes=(), trailing=None, max_bytes=1 << 28)


def load_npz(path: str, expected: dict[str, ArraySpec] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, each checked against ``expected`` before it is read.

    Args:
        path: the file.
        expected: member name (without ``.npy``) -> what it must be; members not
            named are skipped unread. ``None``: every member, numeric arrays up to
            256 MiB and object arrays of plain values.

    Raises:
        ValueError: the file is not a readable ``.npz``, or a member is not what
            ``expected`` says (the message names the file and the member).
    """
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                key = info.filename[: -len(".npy")]
                if not info.filename.endswith(".npy") or (expected and key not in expected):
                    continue
                spec = expected[key] if expected else ANY_ARRAY
                arrays[key] = _read_member(archive, info, spec, path)
    except _READ_ERRORS as error:
        if isinstance(error, NpzError):
            raise
        raise NpzError(
            f"{path} is not a readable .npz archive: {type(error).__name__}: {error}"
        ) from None
    return arrays


class NpzError(ValueError):
    """An ``.npz`` data set file that is unreadable or not what the data set holds."""


def _refuse(path: str, member: str, why: str) -> NpzError:
    return NpzError(f"Refusing to read {path}: member {member!r} {why}.")


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, spec: ArraySpec, path: str
) -> np.ndarray:
    name = info.filename
    if info.flag_bits & 0x1 or info.compress_type not in _METHODS:
        raise _refuse(path, name, f"is encrypted or compressed with method {info.compress_type}")
    if info.file_size > max(EXPANSION_FLOOR_BYTES, MAX_EXPANSION * info.compress_size):
        raise _refuse(
            path,
            name,
            f"inflates from {info.compress_size} to {info.file_size} bytes, over "
            f"{MAX_EXPANSION}x (a decompression bomb?)",
        )
    with archive.open(info) as stream:
        shape, fortran, dtype = _header(stream, path, name)
        _check_header(shape, dtype, spec, path, name)
        offset = stream.tell()
        if dtype.hasobject:
            return _read_objects(stream, info.file_size - offset, shape, spec, path, name)
        nbytes = math.prod(shape) * dtype.itemsize
        if info.file_size != offset + nbytes:
            raise _refuse(
                path,
                name,
                f"holds {info.file_size - offset} bytes of data but its header "
                f"{shape} {dtype} needs {nbytes}",
            )
        data = bytearray(nbytes)
        if stream.readinto(memoryview(data)) != nbytes:  # ZipExtFile fills it or hits EOF
            raise _refuse(path, name, "ends early (the file is truncated)")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _header(stream: Any, path: str, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream, max_header_size=_HEADER_BYTES)
    if version in ((2, 0), (3, 0)):
        # Format 3.0 differs from 2.0 only in the header's text encoding (utf-8).
        return np.lib.format.read_array_header_2_0(stream, max_header_size=_HEADER_BYTES)
    raise _refuse(path, name, f"has unsupported .npy format version {version}")


def _check_header(
    shape: tuple[int, ...], dtype: np.dtype, spec: ArraySpec, path: str, name: str
) -> None:
    code = "O" if dtype.hasobject else dtype.str[1:]
    plain = dtype.fields is None and dtype.subdtype is None and dtype.itemsize > 0
    allowed = code in spec.dtypes if spec.dtypes else dtype.kind in _NUMERIC_KINDS + "O"
    if not plain or not allowed:
        expected = " or ".join(spec.dtypes) if spec.dtypes else "a numeric dtype"
        raise _refuse(path, name, f"has dtype {dtype.str!r}; expected {expected}")
    if spec.trailing is not None:
        if len(shape) != 1 + len(spec.trailing) or tuple(shape[1:]) != spec.trailing:
            raise _refuse(
                path, name, f"has shape {shape}; expected (n, {', '.join(map(str, spec.trailing))})"
            )
        if shape[0] > spec.max_rows:
            raise _refuse(path, name, f"has {shape[0]} rows; the data set has {spec.max_rows}")
    if not dtype.hasobject and math.prod(shape) * dtype.itemsize > spec.max_bytes:
        raise _refuse(path, name, f"declares shape {shape}, over {spec.max_bytes} bytes")


def _read_objects(
    stream: Any, nbytes: int, shape: tuple[int, ...], spec: ArraySpec, path: str, name: str
) -> np.ndarray:
    if nbytes > spec.max_bytes:
        raise _refuse(path, name, f"holds a {nbytes}-byte pickle, over {spec.max_bytes} bytes")
    plan = load_raw_pickle(stream, encoding="latin1")
    if not isinstance(plan, ArrayPlan):
        raise _refuse(path, name, "does not hold a pickled array")
    array = plan.build()
    if array.dtype != object or array.shape != tuple(shape):
        raise _refuse(
            path, name, f"pickles a {array.dtype} array of shape {array.shape}, not {shape}"
        )
    return array
