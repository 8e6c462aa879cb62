"""Extracting a tar archive member by member, never through a link (CVE-2025-4517 and kin).

``tarfile``'s own ``extract`` and its ``data`` filter follow links already on
disk and resolve paths with ``realpath``, which a chain of symlinks and long
names can fool (CVE-2024-12718, CVE-2025-4138, CVE-2025-4330, CVE-2025-4435,
CVE-2025-4517). Here ``tarfile`` only parses headers: files and folders are
written by us into a fresh folder, hard links become copies of a regular file
extracted earlier, and symlinks are created last, only after their target was
resolved component by component against the archive's own links and found to
stay inside. A member whose path passes through one of the archive's links is
refused. The decompressed stream is counted, so a bomb (or a huge pax header)
is refused before it is inflated.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import tarfile
import zlib
from typing import Any, BinaryIO

from gpukeras.utils._archive_members import (
    ArchiveError,
    ExtractionBudget,
    damaged,
    make_folders,
    member_parts,
    unsafe,
    write_member,
)

_BLOCK = 512
_MAX_LINK_HOPS = 40
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, tarfile.TarError)


class _CountedStream:
    """A file's decompressed bytes, each one charged to the budget before it is read."""

    def __init__(self, raw: BinaryIO, budget: ExtractionBudget) -> None:
        self._raw, self._budget = raw, budget

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        self._budget.charge(size)
        try:
            data = self._raw.read(size)
        except _READ_ERRORS as error:
            raise damaged(self._budget.archive, error) from None
        self._budget.spent -= size - len(data)  # charge what was really read
        return data


def _decompressed(raw: BinaryIO) -> Any:
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(raw, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw, "rb")
    return raw


def is_tar(file_path: str) -> bool:
    """Whether the file (plain or gzip/bzip2/xz compressed) starts with a tar header."""
    with open(file_path, "rb") as raw:
        try:
            head = _decompressed(raw).read(_BLOCK)
        except _READ_ERRORS:
            return False
    if len(head) < _BLOCK:
        return False
    try:
        tarfile.TarInfo.frombuf(head, tarfile.ENCODING, "surrogateescape")
    except tarfile.TarError:
        return False
    return True


def extract_tar(file_path: str, staging: str) -> None:
    """Extract ``file_path`` into the empty folder ``staging``; ArchiveError if unsafe."""
    budget = ExtractionBudget(file_path)
    with open(file_path, "rb") as raw:
        stream = _CountedStream(_decompressed(raw), budget)
        try:
            archive = tarfile.open(fileobj=stream, mode="r|")
        except tarfile.TarError as error:
            raise damaged(file_path, error) from None
        with archive:
            _Extraction(file_path, staging, archive, budget).run()


class _Extraction:
    """The state of one tar extraction: what was written, and the links to make last."""

    def __init__(
        self, path: str, base: str, archive: tarfile.TarFile, budget: ExtractionBudget
    ) -> None:
        self.path, self.base, self.archive, self.budget = path, base, archive, budget
        self.files: set[tuple[str, ...]] = set()
        self.folders: set[tuple[str, ...]] = set()
        self.links: dict[tuple[str, ...], str] = {}
        self.modes: list[tuple[str, int]] = []

    def run(self) -> None:
        while True:
            try:
                member = self.archive.next()
            except (*_READ_ERRORS, ValueError) as error:
                if isinstance(error, ArchiveError):
                    raise
                raise damaged(self.path, error) from None
            if member is None:
                break
            self._extract(member)
        self._make_links()
        for path, mode in self.modes:
            os.chmod(path, mode)

    def _extract(self, member: tarfile.TarInfo) -> None:
        name = member.name
        self.budget.count_member(name)
        self.budget.check_ahead(member.size, name)
        parts = member_parts(name, self.path)
        if not parts and not member.isdir():
            raise unsafe(self.path, name, "a member named '.' must be a folder")
        kind = "dir" if member.isdir() else "file" if member.isfile() else ""
        kind = kind or ("hard" if member.islnk() else "sym" if member.issym() else "")
        if not kind:
            raise unsafe(self.path, name, "it is a device or fifo, not a file or folder")
        self._claim(parts, kind, name)
        if kind == "dir":
            make_folders(self.base, parts, self.path, name)
        elif kind == "file":
            self._write_file(member, parts)
        elif kind == "hard":
            self._copy_hard_link(member, parts)
        else:
            self._note_symlink(member, parts)

    def _claim(self, parts: tuple[str, ...], kind: str, name: str) -> None:
        """Refuse a member on a path through a link or a file, or clashing with another
        kind of member; record its parent folders (which exist implicitly)."""
        for depth in range(1, len(parts)):
            if parts[:depth] in self.links:
                raise unsafe(self.path, name, "it would be written through a link")
            if parts[:depth] in self.files:
                raise unsafe(self.path, name, "a file of that name is on its path")
        clash = parts in self.links
        clash |= kind != "dir" and parts in self.folders
        clash |= kind in ("dir", "sym") and parts in self.files
        if clash:
            raise unsafe(self.path, name, "a member of another kind has the same name")
        self.folders.update(parts[:depth] for depth in range(1, len(parts)))
        if kind == "dir":
            self.folders.add(parts)

    def _write_file(self, member: tarfile.TarInfo, parts: tuple[str, ...]) -> None:
        source = self.archive.extractfile(member)
        try:
            path = write_member(self.base, parts, source, member.size, self.path, member.name)
        except (tarfile.TarError, EOFError) as error:
            raise damaged(self.path, error) from None
        self.files.add(parts)
        self.modes.append((path, (member.mode & 0o755) | 0o600))

    def _copy_hard_link(self, member: tarfile.TarInfo, parts: tuple[str, ...]) -> None:
        """A hard link becomes a copy of the regular file it names, extracted before."""
        target = member_parts(member.linkname, self.path)
        if target not in self.files:
            raise unsafe(
                self.path,
                member.name,
                f"it is a hard link to {member.linkname!r}, not to a file extracted before",
            )
        source = os.path.join(self.base, *target)
        with open(source, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            self.budget.charge(size, member.name)
            path = write_member(self.base, parts, stream, size, self.path, member.name)
        self.files.add(parts)
        shutil.copymode(source, path)

    def _note_symlink(self, member: tarfile.TarInfo, parts: tuple[str, ...]) -> None:
        link = member.linkname
        if not link or "\0" in link or link.startswith(("/", "\\")):
            raise unsafe(self.path, member.name, f"it is a link to {link!r}")
        self.links[parts] = link

    def _make_links(self) -> None:
        """Create the symlinks once every one resolves inside the folder."""
        for parts, link in self.links.items():
            _resolve(list(parts[:-1]), link, self.links, [0], self.path, "/".join(parts))
        for parts, link in self.links.items():
            folder = make_folders(self.base, parts[:-1], self.path, "/".join(parts))
            os.symlink(link, os.path.join(folder, parts[-1]))


def _resolve(
    start: list[str], link: str, links: dict, hops: list[int], archive: str, name: str
) -> list[str]:
    """Where ``link`` (relative to folder ``start``) leads, following the archive's links.

    Every component is resolved in turn; climbing above the folder at any step,
    an absolute target, or more than 40 hops is refused.
    """
    if link.startswith(("/", "\\")) or "\0" in link:
        raise unsafe(archive, name, f"it leads to the absolute path {link!r}")
    resolved = list(start)
    for part in link.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                raise unsafe(archive, name, "it is a link that leads outside the folder")
            resolved.pop()
            continue
        resolved.append(part)
        target = links.get(tuple(resolved))
        if target is not None:
            hops[0] += 1
            if hops[0] > _MAX_LINK_HOPS:
                raise unsafe(archive, name, "its links form a loop or a chain too long")
            resolved = _resolve(resolved[:-1], target, links, hops, archive, name)
    return resolved


__all__ = ["ArchiveError", "extract_tar", "is_tar"]
