"""Extracting a zip archive: every member checked before a byte is written.

Absolute names, ``..``, symlink entries (a Unix mode of ``S_IFLNK``),
encrypted members, compression methods ``zipfile`` cannot read (AES is 99) and
archives declaring more than the size budget are refused from the central
directory alone. Members are then written one by one with ``O_EXCL`` and no
link following; a member can inflate to no more than its declared size
(``zipfile`` stops there and checks the CRC).
"""

from __future__ import annotations

import lzma
import stat
import zipfile
import zlib

from gpukeras.utils._archive_members import (
    ArchiveError,
    ExtractionBudget,
    damaged,
    make_folders,
    member_parts,
    unsafe,
    write_member,
)

_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
_READ_ERRORS = (
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
)


def is_zip(file_path: str) -> bool:
    return zipfile.is_zipfile(file_path)


def extract_zip(file_path: str, staging: str) -> None:
    """Extract ``file_path`` into the empty folder ``staging``; ArchiveError if refused."""
    try:
        archive = zipfile.ZipFile(file_path)
    except _READ_ERRORS as error:
        raise damaged(file_path, error) from None
    with archive:
        members = [(info, _checked(info, file_path)) for info in archive.infolist()]
        budget = ExtractionBudget(file_path)
        for info, _ in members:
            budget.count_member(info.filename)
            budget.charge(info.file_size, info.filename)
        for info, parts in members:
            if info.is_dir():
                make_folders(staging, parts, file_path, info.filename)
            else:
                _write(archive, info, parts, staging, file_path)


def _checked(info: zipfile.ZipInfo, archive: str) -> tuple[str, ...]:
    name = info.filename
    parts = member_parts(name, archive)
    if not parts and not info.is_dir():
        raise unsafe(archive, name, "a member named '.' must be a folder")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise unsafe(archive, name, "it is a symbolic link; zip links are never extracted")
    if info.flag_bits & 0x1:
        raise ArchiveError(
            f"Could not extract {archive}: member {name!r} is encrypted, and gpukeras does "
            "not extract encrypted archives. Decrypt it with a zip tool first."
        )
    if info.compress_type not in _METHODS:
        raise ArchiveError(
            f"Could not extract {archive}: member {name!r} uses compression method "
            f"{info.compress_type}, which is not supported (only "
            f"{', '.join(_METHODS.values())})."
        )
    return parts


def _write(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, parts: tuple[str, ...], base: str, path: str
) -> None:
    try:
        source = archive.open(info)
    except _READ_ERRORS as error:
        raise damaged(path, error) from None
    # Writing errors (a full disk) pass through as they are: the archive is not at fault.
    with source:
        write_member(base, parts, _Checked(source, path), info.file_size, path, info.filename)


class _Checked:
    """A member's stream whose read errors name the archive."""

    def __init__(self, source, path: str) -> None:
        self._source, self._path = source, path

    def read(self, size: int) -> bytes:
        try:
            return self._source.read(size)
        except _READ_ERRORS as error:
            raise damaged(self._path, error) from None


__all__ = ["extract_zip", "is_zip"]
