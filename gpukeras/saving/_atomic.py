"""Atomic file replacement: the file at a path is always a complete old or new version.

A writer's temporary file is ``.{name}.{12 hex digits}.tmp`` next to the
target, locked (``flock``) by its writer for as long as it lives. A process
killed mid-write (SIGTERM, SIGKILL) leaves its temporary behind; the next
write to the same path removes such files, but only exact matches of that
pattern that no live writer holds locked.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # Windows: no flock, so only very old temporaries count as abandoned
    fcntl = None  # type: ignore[assignment]

# Without locks a temporary is judged abandoned by age alone: a day is far longer than a save.
_UNLOCKED_STALE_AFTER_S = 24 * 3600
_TOKEN_BYTES = 6


@contextlib.contextmanager
def atomic_write_path(filepath: str) -> Iterator[str]:
    """Yield a temporary path in ``filepath``'s folder; on success it replaces ``filepath``.

    The caller writes and closes the temporary file inside the ``with``
    block. Then its data is flushed to disk (fsync) and it is renamed over
    ``filepath`` with ``os.replace``, which is atomic on POSIX and Windows.
    If the block raises, the temporary file is removed and ``filepath`` is
    left untouched. Temporary files of earlier writers to ``filepath`` that
    died mid-write are removed first.

    Args:
        filepath: The file to create or replace; its folder must exist.
    """
    folder = os.path.dirname(os.path.abspath(filepath))
    remove_stale_temporaries(filepath)
    temporary, lock = _create_temporary(folder, os.path.basename(filepath))
    try:
        _copy_mode(filepath, temporary)
        yield temporary
        _fsync_path(temporary)
        os.replace(temporary, filepath)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    finally:
        if lock is not None:
            os.close(lock)
    # Make the rename itself durable (not possible on every platform).
    with contextlib.suppress(OSError):
        _fsync_path(folder)


def atomic_write_bytes(filepath: str, data: bytes | memoryview) -> None:
    """Replace ``filepath`` with ``data`` atomically (see :func:`atomic_write_path`).

    An ``OSError`` (a full disk, a size limit) names ``filepath``, arrives
    once, and leaves the old file and no temporary behind.
    """
    with naming_the_file(filepath), atomic_write_path(filepath) as temporary:
        with closed_quietly_on_error(open(temporary, "wb")) as file:
            file.write(data)


@contextlib.contextmanager
def naming_the_file(filepath: str) -> Iterator[None]:
    """Re-raise an ``OSError`` from the block as one naming ``filepath`` (same errno)."""
    try:
        yield
    except OSError as error:
        if error.filename == filepath or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror or str(error), filepath) from None


@contextlib.contextmanager
def closed_quietly_on_error(file: object) -> Iterator:
    """``with file``, except that closing after an error stays quiet.

    Closing flushes what is buffered; after a full disk that fails again,
    which would chain a second identical error onto the first.
    """
    try:
        yield file
    except BaseException:
        with contextlib.suppress(OSError):
            file.close()  # type: ignore[attr-defined]
        raise
    file.close()  # type: ignore[attr-defined]


# -- temporaries -----------------------------------------------------------------------
def _temporary_name(base: str) -> str:
    return f".{base}.{secrets.token_hex(_TOKEN_BYTES)}.tmp"


def _is_temporary_of(name: str, base: str) -> bool:
    pattern = rf"\.{re.escape(base)}\.[0-9a-f]{{{2 * _TOKEN_BYTES}}}\.tmp"
    return re.fullmatch(pattern, name) is not None


def _create_temporary(folder: str, base: str) -> tuple[str, int | None]:
    """A new empty file ``.{base}.{random}.tmp`` in ``folder`` (created with the umask), and a
    descriptor holding its lock, so other writers see it is alive and leave it alone (``None``
    where there is no flock: Windows cannot rename a file that is still open)."""
    for _ in range(100):
        candidate = os.path.join(folder, _temporary_name(base))
        try:
            descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        locked = _lock(descriptor)
        # A cleaner may have judged the new, still unlocked file abandoned: then try again.
        if locked == "busy" or not _still_named(descriptor, candidate):
            os.close(descriptor)
            continue
        if locked == "unsupported":
            os.close(descriptor)
            return candidate, None
        return candidate, descriptor
    raise FileExistsError(f"Could not create a temporary file next to {base!r} in {folder!r}")


def _lock(descriptor: int) -> str:
    """Take the descriptor's exclusive flock without waiting: ``'locked'``, ``'busy'`` (a
    live process holds it) or ``'unsupported'`` (no flock here)."""
    if fcntl is None:
        return "unsupported"
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return "busy"
    except OSError:
        return "unsupported"
    return "locked"


def _still_named(descriptor: int, path: str) -> bool:
    try:
        return os.path.samestat(os.fstat(descriptor), os.lstat(path))
    except FileNotFoundError:
        return False


def remove_stale_temporaries(filepath: str) -> None:
    """Remove the temporaries of writers to ``filepath`` that died mid-write.

    Only regular files named exactly ``.{name}.{12 hex digits}.tmp`` are
    candidates, and only when no live process holds their lock (without
    ``flock``: when a day old). Anything else in the folder is left alone.
    """
    folder = os.path.dirname(os.path.abspath(filepath))
    base = os.path.basename(filepath)
    stale: list[str] = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        stale = [
            entry.path
            for entry in entries
            if entry.name.startswith(f".{base}.")
            and _is_temporary_of(entry.name, base)
            and entry.is_file(follow_symlinks=False)
        ]
    for path in stale:
        _remove_if_abandoned(path)


def _remove_if_abandoned(path: str) -> None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return  # gone, or not ours to open
    try:
        status = os.fstat(descriptor)
        held = _lock(descriptor) if stat.S_ISREG(status.st_mode) else "busy"
        if held == "locked" and _still_named(descriptor, path):
            with contextlib.suppress(OSError):
                os.remove(path)  # under our lock: no writer can be starting on it
    finally:
        os.close(descriptor)
    old = time.time() - status.st_mtime > _UNLOCKED_STALE_AFTER_S
    if held == "unsupported" and old:
        with contextlib.suppress(OSError):
            os.remove(path)


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
