"""get_file: download a file once into gpukeras's cache, checked and never half-written.

Where files live: ``$GPUKERAS_HOME`` (default ``~/.gpukeras``) plus
``cache_subdir``; data sets (``cache_subdir='datasets'``) go to
``$GPUKERAS_DATA_DIR`` instead when that is set. A download is written to a
hidden temporary file in the target folder, its hash is checked, and only then
is it renamed to the final name (``os.replace`` is atomic), so an interrupted or
corrupt transfer never leaves a file at the final path.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from gpukeras.utils._archive_utils import archive_formats, extract_archive

HOME_ENV_VAR = "GPUKERAS_HOME"
DATA_DIR_ENV_VAR = "GPUKERAS_DATA_DIR"
_CHUNK_BYTES = 1 << 16
# Seconds without a byte before a download is abandoned (a hung server, a dead link).
DOWNLOAD_TIMEOUT_S = 60.0


def gpukeras_home() -> str:
    """``$GPUKERAS_HOME`` if set, else ``~/.gpukeras`` (user-expanded)."""
    return os.path.expanduser(os.environ.get(HOME_ENV_VAR) or os.path.join("~", ".gpukeras"))


def cache_folder(cache_dir: Any = None, cache_subdir: Any = "datasets") -> str:
    """The folder ``get_file`` uses for ``cache_dir`` and ``cache_subdir`` (not created).

    An absolute ``cache_subdir`` is used as is. With ``cache_dir=None`` and a
    ``cache_subdir`` of ``datasets`` (or below it), ``$GPUKERAS_DATA_DIR`` takes the
    place of ``<home>/datasets`` when set.
    """
    subdir = os.path.expanduser(os.fspath(cache_subdir))
    if os.path.isabs(subdir):
        return subdir
    if cache_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV_VAR)
        head, _, rest = subdir.replace("\\", "/").partition("/")
        if data_dir and head == "datasets":
            return os.path.join(os.path.expanduser(data_dir), *filter(None, rest.split("/")))
        cache_dir = gpukeras_home()
    return os.path.join(os.path.expanduser(os.fspath(cache_dir)), subdir)


def hash_file(fpath: Any, algorithm: str = "sha256", chunk_size: int = 65535) -> str:
    """The hex digest of a file.

    Args:
        fpath: path of the file. Required.
        algorithm: ``'sha256'`` or ``'md5'``. Default ``'sha256'``.
        chunk_size: bytes read at a time. Default ``65535``.
    """
    hasher = hashlib.md5() if algorithm == "md5" else hashlib.sha256()
    with open(fpath, "rb") as stream:
        for chunk in iter(lambda: stream.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def resolve_hash_algorithm(algorithm: str, file_hash: str | None) -> str:
    """``'auto'`` means sha256 for a 64-digit hash and md5 otherwise (as Keras)."""
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(
            "`hash_algorithm` must be 'auto', 'sha256' or 'md5'. "
            f"Received: hash_algorithm={algorithm!r}"
        )
    if algorithm == "auto":
        return "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"
    return algorithm


def validate_file(fpath: Any, file_hash: str, algorithm: str = "auto") -> bool:
    """Whether the file's sha256 (or md5) digest is ``file_hash``.

    Args:
        fpath: path of the file. Required.
        file_hash: expected hex digest. Required.
        algorithm: ``'auto'``, ``'sha256'`` or ``'md5'``. Default ``'auto'``
            (sha256 for a 64-digit hash, md5 otherwise).
    """
    algorithm = resolve_hash_algorithm(algorithm, file_hash)
    return hash_file(fpath, algorithm) == str(file_hash).lower()


def get_file(
    fname: Any = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: Any = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: Any = "auto",
    cache_dir: Any = None,
    force_download: bool = False,
) -> str:
    """Download a file from a URL unless a valid copy is already cached (Keras 3's ``get_file``).

    The file goes to ``<cache_dir>/<cache_subdir>/<fname>``, by default
    ``~/.gpukeras/datasets/<fname>``. A cached copy whose hash does not match
    ``file_hash`` is removed and downloaded again; a download whose hash does not
    match is discarded and raises ``ValueError``. A progress bar is shown while
    downloading.

    Args:
        fname: name of the file in the cache; with ``extract``, a name without a
            dot is the extraction folder's name. Default ``None``: the last part of
            ``origin``'s path. May not contain a path separator.
        origin: URL of the file. Required.
        untar: deprecated form of ``extract=True, archive_format='tar'``. Default ``False``.
        md5_hash: deprecated form of ``file_hash`` with ``hash_algorithm='md5'``.
            Default ``None``.
        file_hash: expected sha256 (or md5) hex digest; ``None`` skips the check.
            Default ``None``.
        cache_subdir: folder under ``cache_dir``, or an absolute folder. Default
            ``'datasets'`` (``$GPUKERAS_DATA_DIR`` replaces ``<home>/datasets``
            when set and ``cache_dir`` is ``None``).
        hash_algorithm: ``'auto'``, ``'sha256'`` or ``'md5'``. Default ``'auto'``
            (sha256 for a 64-digit hash, md5 otherwise).
        extract: extract the archive (tar, tar.gz, tar.bz2, zip) and return the
            folder it was extracted to. Default ``False``.
        archive_format: ``'auto'`` (tar then zip), ``'tar'``, ``'zip'``, a list of
            those, or ``None``. Default ``'auto'``.
        cache_dir: the cache root. Default ``None``: ``$GPUKERAS_HOME`` or
            ``~/.gpukeras`` (a temporary folder if that cannot be created).
        force_download: download even if a valid copy is cached. Default ``False``.

    Returns:
        The path of the file, or of the extraction folder with ``extract``/``untar``.

    Raises:
        ValueError: no ``origin``; ``fname`` (or the name taken from ``origin``) is
            not one plain name (a path, ``.``, ``..``, empty, NUL); the downloaded
            file's hash does not match; an archive member is unsafe (absolute,
            ``..``, written through a link, a link leading outside once resolved);
            the archive would inflate past ``max(64 MiB, 100x its size)``, is
            damaged, encrypted or uses an unsupported compression method; or the
            file is not an archive of ``archive_format``. Nothing is extracted then.
        OSError: the download failed (offline, HTTP error, interrupted); the
            message names the URL and the exact path to put the file at by hand.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = resolve_hash_algorithm(hash_algorithm, file_hash)
    extracting = bool(extract or untar)
    formats = archive_formats("tar" if untar else archive_format) if extracting else []
    folder = _writable_folder(cache_dir, cache_subdir)
    name = _file_name(fname, origin)
    target, extraction_dir = _targets(folder, name, fname is not None, extracting)
    fetched = _ensure_cached(target, origin, file_hash, algorithm, force_download, extraction_dir)
    if not extracting:
        return target
    if fetched or not os.path.isdir(extraction_dir):
        if not extract_archive(target, extraction_dir, formats):
            raise ValueError(
                f"Could not extract {target}: it is not a {' or '.join(formats) or 'known'} "
                f"archive. Received: archive_format={archive_format!r}"
            )
    return extraction_dir


def _writable_folder(cache_dir: Any, cache_subdir: Any) -> str:
    """The cache folder, created; a temporary one if the home cannot be written (as Keras)."""
    folder = cache_folder(cache_dir, cache_subdir)
    try:
        os.makedirs(folder, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    if os.path.isabs(os.path.expanduser(os.fspath(cache_subdir))):
        raise PermissionError(f"Cannot write to `cache_subdir`: {folder}")
    folder = os.path.join(tempfile.gettempdir(), ".gpukeras", os.fspath(cache_subdir))
    os.makedirs(folder, exist_ok=True)
    return folder


def _file_name(fname: Any, origin: str) -> str:
    if fname is None or fname == "":
        name = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not name:
            raise ValueError(
                f"Can't parse the file name from the origin provided: {origin!r}. "
                "Please specify the `fname` argument."
            )
        _check_name(name, f"the file name {name!r} taken from origin={origin!r}")
        return name
    name = os.fspath(fname)
    if os.sep in name or "/" in name:
        raise ValueError(
            "Paths are not accepted as the `fname` argument; use `cache_dir` or "
            f"`cache_subdir` for the folder. Received: fname={name!r}"
        )
    _check_name(name, f"fname={name!r}")
    return name


def _check_name(name: str, received: str) -> None:
    """Refuse a cache file name that is not one plain name (it becomes a path, and with
    ``extract`` a folder that is deleted and replaced)."""
    if (
        name in (".", "..")
        or not name.strip()
        or any(char in name for char in ("/", "\\", "\0", os.sep))
    ):
        raise ValueError(
            "The cache file name must be a plain name: not '.', '..' or empty, without "
            f"path separators or NUL bytes. Pass a plain `fname`. Received: {received}"
        )


def _targets(folder: str, name: str, named: bool, extracting: bool) -> tuple[str, str | None]:
    """(where the download goes, where it is extracted to), named as Keras 3 names them."""
    if not extracting:
        return os.path.join(folder, name), None
    if named and "." in name:
        stem = name[: name.find(".")]
        return os.path.join(folder, name), os.path.join(folder, f"{stem}_extracted")
    return os.path.join(folder, f"{name}_archive"), os.path.join(folder, name)


def _ensure_cached(
    target: str,
    origin: str,
    file_hash: str | None,
    algorithm: str,
    force_download: bool,
    extraction_dir: str | None,
) -> bool:
    """Make ``target`` a valid copy; True if it was (re)downloaded."""
    if not force_download and os.path.isfile(target):
        if file_hash is None or validate_file(target, file_hash, algorithm):
            return False
        _print(
            f"A local file was found at {target}, but its {algorithm} hash does not match "
            f"{file_hash} (incomplete or outdated): removing it and downloading it again."
        )
        os.remove(target)
    _download(origin, target, file_hash, algorithm, extraction_dir)
    return True


def _print(message: str) -> None:
    # Imported here: gpukeras.callbacks imports much of gpukeras, and utils must
    # stay importable on its own.
    from gpukeras.callbacks._progbar_logger import print_line

    print_line(message)


def _download(
    origin: str, target: str, file_hash: str | None, algorithm: str, extraction_dir: str | None
) -> None:
    """Stream ``origin`` into a temporary file beside ``target``; check it; rename it."""
    _print(f"Downloading data from {origin}")
    folder, name = os.path.split(target)
    handle, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            _stream_url(origin, stream, target, extraction_dir)
        if file_hash is not None and not validate_file(partial, file_hash, algorithm):
            raise ValueError(
                f"Incomplete or corrupted file downloaded from {origin}: its {algorithm} hash "
                f"{hash_file(partial, algorithm)} does not match the expected {file_hash}. "
                f"Nothing was saved. Try again later, or put a correct copy at {target} by hand."
            )
        os.replace(partial, target)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise


def _stream_url(origin: str, stream: Any, target: str, extraction_dir: str | None) -> None:
    """Copy the body at ``origin`` into ``stream`` with a progress bar; OSError on failure."""
    try:
        with urllib.request.urlopen(origin, timeout=DOWNLOAD_TIMEOUT_S) as response:
            total = _content_length(response)
            received = _copy_with_progress(response, stream, total)
        if total is not None and received != total:
            raise http.client.IncompleteRead(b"", total - received)
    except urllib.error.HTTPError as error:
        raise OSError(
            _fetch_failure(origin, f"HTTP {error.code}: {error.reason}", target, extraction_dir)
        ) from error
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        if isinstance(error, http.client.IncompleteRead):
            reason = f"the connection closed {error.expected} bytes early"
        raise OSError(_fetch_failure(origin, str(reason), target, extraction_dir)) from error


def _content_length(response: Any) -> int | None:
    length = response.headers.get("Content-Length")
    try:
        return int(length) if length is not None else None
    except ValueError:
        return None


def _copy_with_progress(response: Any, stream: Any, total: int | None) -> int:
    from gpukeras.callbacks._progbar_logger import Progbar  # see _print

    progbar = Progbar(total, unit_name="B")
    received = 0
    for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
        stream.write(chunk)
        received += len(chunk)
        if total is None or received < total:
            progbar.update(received, finalize=False)
    if total is None or received == total:
        progbar.target = received
        progbar.update(received, finalize=True)
    return received


def _fetch_failure(origin: str, reason: str, target: str, extraction_dir: str | None) -> str:
    message = (
        f"URL fetch failure on {origin}: {reason}. If this machine is offline, download "
        f"{origin} elsewhere and save it as {target}"
    )
    if extraction_dir is not None:
        message += f" (it is extracted to {extraction_dir} on first use)"
    return message + "."
