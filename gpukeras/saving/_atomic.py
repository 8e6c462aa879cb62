"""Atomic file replacement: the file at a path is always a complete old or new version."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_write_path(filepath: str) -> Iterator[str]:
    """Yield a temporary path in ``filepath``'s folder; on success it replaces ``filepath``.

    The caller writes and closes the temporary file inside the ``with``
    block. Then its data is flushed to disk (fsync) and it is renamed over
    ``filepath`` with ``os.replace``, which is atomic on POSIX and Windows.
    If the block raises, the temporary file is removed and ``filepath`` is
    left untouched.

    Args:
        filepath: The file to create or replace; its folder must exist.
    """
    folder = os.path.dirname(os.path.abspath(filepath))
    temporary = _create_temporary(folder, os.path.basename(filepath))
    try:
        _copy_mode(filepath, temporary)
        yield temporary
        _fsync_path(temporary)
        os.replace(temporary, filepath)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    # Make the rename itself durable (not possible on every platform).
    with contextlib.suppress(OSError):
        _fsync_path(folder)


def _create_temporary(folder: str, base: str) -> str:
    """A new empty file ``.{base}.{random}.tmp`` in ``folder``, created with the umask."""
    for _ in range(100):
        candidate = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(descriptor)
        return candidate
    raise FileExistsError(f"Could not create a temporary file next to {base!r} in {folder!r}")


def _copy_mode(source: str, target: str) -> None:
    """Keep an existing file's permissions when replacing it."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(target, stat.S_IMODE(os.stat(source).st_mode))


def _fsync_path(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
