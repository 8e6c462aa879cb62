"""Where data set files come from: gpukeras's cache, a copy Keras already downloaded, or the web.

Data sets live in ``$GPUKERAS_DATA_DIR`` if set, otherwise ``<home>/datasets``
with ``<home>`` = ``$GPUKERAS_HOME`` or ``~/.gpukeras`` (see
:func:`gpukeras.utils.get_file`). Before downloading, a valid copy in Keras's
cache (``$KERAS_HOME/datasets``, by default ``~/.keras/datasets``) is used in
place, so a file Keras already fetched is not fetched twice.
"""

from __future__ import annotations

import os

from gpukeras.utils._file_utils import DATA_DIR_ENV_VAR, cache_folder, get_file, validate_file

PACKAGED_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
# Keras's public mirror of its data set files.
KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

__all__ = ["DATA_DIR_ENV_VAR", "PACKAGED_DATA_DIR", "fetch"]


def keras_cache_folder(cache_subdir: str) -> str:
    keras_home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return os.path.join(os.path.expanduser(keras_home), cache_subdir)


def fetch(
    path: str,
    origin: str,
    file_hash: str,
    cache_subdir: str = "datasets",
    extract: bool = False,
) -> str:
    """The local path of a data set file, downloading it if needed.

    Args:
        path: file name in the cache (Keras's ``path`` argument), or an absolute
            path of a copy of your own, which is read as it is (no hash check, no
            download; FileNotFoundError naming the URL if it is missing). Required.
        origin: URL to download from. Required.
        file_hash: sha256 (or md5) of the file. Required.
        cache_subdir: folder under the cache root. Default ``'datasets'``.
        extract: the file is an archive; return the folder it is extracted to.
            Default ``False``.
    """
    path = os.path.expanduser(os.fspath(path))
    if os.path.isabs(path):
        return _own_copy(path, origin)
    if not extract and not os.path.isfile(os.path.join(cache_folder(None, cache_subdir), path)):
        keras_copy = _valid_keras_copy(path, cache_subdir, file_hash)
        if keras_copy is not None:
            return keras_copy
    return get_file(
        fname=path, origin=origin, file_hash=file_hash, cache_subdir=cache_subdir, extract=extract
    )


def _own_copy(path: str, origin: str) -> str:
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No file at {path}. An absolute `path` is read as given and never downloaded: "
            f"download {origin} and save it there, or pass a file name to use the cache."
        )
    return path


def _valid_keras_copy(name: str, cache_subdir: str, file_hash: str) -> str | None:
    """A copy Keras downloaded, when no data dir override is set and its hash matches."""
    if os.environ.get(DATA_DIR_ENV_VAR):
        return None
    candidate = os.path.join(keras_cache_folder(cache_subdir), name)
    if os.path.isfile(candidate) and validate_file(candidate, file_hash):
        return candidate
    return None
