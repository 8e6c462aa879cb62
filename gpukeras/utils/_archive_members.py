"""What tar and zip extraction share: member names, the size budget, writing without links.

Everything here works on a fresh staging folder that only the extractor writes
to. Files are created with ``O_EXCL | O_NOFOLLOW`` and every parent folder is
checked with ``lstat`` before it is used, so nothing is ever written through a
link, whatever the archive holds.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

# An archive may inflate to MAX_EXPANSION times its own size, and to at least
# EXTRACT_FLOOR_BYTES whatever its size; past that it is refused as a bomb before
# the bytes are written. Real data set archives inflate 1x-10x.
MAX_EXPANSION = 100
EXTRACT_FLOOR_BYTES = 1 << 26  # 64 MiB
MAX_MEMBERS = 1_000_000
_CHUNK = 1 << 20
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class ArchiveError(ValueError):
    """An archive that is unsafe, a bomb, damaged or unsupported; the message names it."""


def unsafe(archive: str, name: str, why: str) -> ArchiveError:
    return ArchiveError(
        f"Refusing to extract {archive}: member {name!r} is unsafe ({why}). "
        "Nothing was extracted; the archive may be corrupt or malicious."
    )


def damaged(archive: str, error: BaseException) -> ArchiveError:
    return ArchiveError(
        f"Could not extract {archive}: the archive is truncated or damaged "
        f"({type(error).__name__}: {error}). Nothing was extracted; delete it to download "
        "it again."
    )


def member_parts(name: str, archive: str) -> tuple[str, ...]:
    """The path components of member ``name``; refuses absolute, ``..``, NUL and drive names.

    ``.`` and empty components are dropped, so ``./a//b`` is ``('a', 'b')`` and a
    member named ``.`` is ``()`` (the folder itself).
    """
    if not isinstance(name, str) or not name:
        raise unsafe(archive, str(name), "it has no name")
    if "\0" in name:
        raise unsafe(archive, name, "its name holds a NUL byte")
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(parts[0]) == 2 and parts[0][1] == ":"):
        raise unsafe(archive, name, "its path is absolute")
    if ".." in parts:
        raise unsafe(archive, name, "its path contains '..'")
    return tuple(part for part in parts if part not in ("", "."))


class ExtractionBudget:
    """Counts the bytes an archive inflates to and refuses it past its budget.

    Args:
        archive: the archive's path (named in messages; its size sets the budget).
    """

    def __init__(self, archive: str) -> None:
        self.archive = archive
        self.limit = max(EXTRACT_FLOOR_BYTES, MAX_EXPANSION * os.path.getsize(archive))
        self.spent = 0
        self.members = 0

    def charge(self, nbytes: int, member: str = "") -> None:
        """Count ``nbytes`` more; refuse before they are read or written if over budget."""
        if nbytes < 0:
            raise unsafe(self.archive, member, f"it declares a negative size {nbytes}")
        self.spent += nbytes
        if self.spent > self.limit:
            where = f" (at member {member!r})" if member else ""
            raise ArchiveError(
                f"Refusing to extract {self.archive}: it inflates to more than {self.limit} "
                f"bytes{where}, over {MAX_EXPANSION}x its size of "
                f"{os.path.getsize(self.archive)} bytes (a decompression bomb?). "
                "Nothing was extracted."
            )

    def check_ahead(self, nbytes: int, member: str) -> None:
        """Refuse a member that declares more bytes than the budget has left."""
        self.charge(nbytes, member)
        self.spent -= nbytes

    def count_member(self, member: str) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise ArchiveError(
                f"Refusing to extract {self.archive}: it has more than {MAX_MEMBERS} members."
            )


def make_folders(base: str, parts: tuple[str, ...], archive: str, name: str) -> str:
    """Create ``base/parts...`` as real folders (never through a link); its path."""
    path = base
    for part in parts:
        path = os.path.join(path, part)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise unsafe(archive, name, f"{part!r} is already a file or link, not a folder")
    return path


def write_member(
    base: str, parts: tuple[str, ...], source: BinaryIO, size: int, archive: str, name: str
) -> str:
    """Write ``size`` bytes of ``source`` to ``base/parts`` as a new regular file; its path.

    An earlier regular file of the same name is replaced (tar's rule: the last one
    wins); anything else already there is refused.
    """
    folder = make_folders(base, parts[:-1], archive, name)
    path = os.path.join(folder, parts[-1])
    if os.path.lexists(path):
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise unsafe(archive, name, "a folder or link of that name was extracted before")
        os.remove(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW | _BINARY
    with os.fdopen(os.open(path, flags, 0o644), "wb") as stream:
        left = size
        while left > 0:
            chunk = source.read(min(_CHUNK, left))
            if not chunk:
                raise ArchiveError(
                    f"Could not extract {archive}: member {name!r} ends {left} bytes early "
                    "(the archive is truncated or damaged)."
                )
            stream.write(chunk)
            left -= len(chunk)
    return path
