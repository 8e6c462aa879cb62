"""Read the pickled parts of Keras's data set files without running code from them.

IMDB and Reuters store ragged sequences as ``dtype=object`` arrays inside their
``.npz`` files, which NumPy can only write as a pickle stream; the CIFAR files
are pickled dicts of NumPy arrays. ``np.load(allow_pickle=True)`` or a plain
``pickle.load`` would execute whatever a tampered file asks for. Here only the
three globals that rebuild a NumPy array are allowed (``numpy.ndarray``,
``numpy.dtype`` and ``multiarray._reconstruct``, under NumPy 1's and 2's module
names); everything else - lists, dicts, ints, bytes - is built by pickle's own
opcodes, which call no code.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from typing import Any

import numpy as np

_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to load `{module}.{name}` from a data set file: only NumPy arrays "
            "and plain Python values are accepted. The file may be corrupted or malicious."
        )


def load_pickle(stream: Any, encoding: str = "ASCII") -> Any:
    """Unpickle ``stream`` allowing only NumPy arrays and plain values.

    ``encoding='bytes'`` reads Python 2 pickles (the CIFAR files) with their
    strings left as ``bytes``.
    """
    return _ArrayOnlyUnpickler(stream, encoding=encoding).load()


def _read_npy(stream: io.BytesIO) -> np.ndarray:
    """One ``.npy`` member: numeric arrays with pickling off, object arrays restricted."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version in ((2, 0), (3, 0)):
        # Format 3.0 differs from 2.0 only in the header's text encoding (utf-8).
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"Unsupported .npy format version {version}")
    if dtype.hasobject:
        return load_pickle(stream, encoding="latin1")
    stream.seek(0)
    return np.lib.format.read_array(stream, allow_pickle=False)


def load_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read without running code from it.

    Raises:
        ValueError: the file is not a valid ``.npz`` archive (named in the message).
    """
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".npy"):
                    arrays[member[: -len(".npy")]] = _read_npy(io.BytesIO(archive.read(member)))
    except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError, ValueError) as error:
        raise ValueError(f"{path} is not a readable .npz archive: {error}") from error
    return arrays
