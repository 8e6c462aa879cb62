"""Safe extraction of tar and zip archives (used by ``get_file(extract=True)``).

An archive is extracted into a fresh temporary folder next to its destination,
member by member, and moved into place only when every member was accepted, so
the destination never holds half an archive. A member is refused (and nothing
is kept) when its path is absolute, climbs out with ``..``, passes through a
link that leads outside, or is a link, device or fifo that would point or live
outside the folder. Keras skips such members with a warning; we refuse the
archive, because an archive that tries this is not one to trust.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable

ARCHIVE_FORMATS = ("tar", "zip")


def archive_formats(archive_format: str | Iterable[str] | None) -> list[str]:
    """The formats to try, from ``get_file``'s ``archive_format`` argument."""
    if archive_format is None:
        return []
    if archive_format == "auto":
        return list(ARCHIVE_FORMATS)
    formats = [archive_format] if isinstance(archive_format, str) else list(archive_format)
    unknown = [f for f in formats if f not in ARCHIVE_FORMATS]
    if unknown:
        raise ValueError(
            "`archive_format` must be 'auto', 'tar', 'zip', a list of those, or None. "
            f"Received: archive_format={archive_format!r}"
        )
    return formats


def extract_archive(file_path: str, destination: str, formats: list[str]) -> bool:
    """Extract ``file_path`` into ``destination`` (replacing it) if it is one of ``formats``.

    Returns ``False`` (and touches nothing) when the file is none of the formats.
    Raises ``ValueError`` naming the member when a member is unsafe.
    """
    opener = _opener(file_path, formats)
    if opener is None:
        return False
    parent = os.path.dirname(os.path.abspath(destination))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(destination)}.", dir=parent)
    try:
        opener(file_path, staging)
        if os.path.lexists(destination):
            _remove(destination)
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return True


def _opener(file_path: str, formats: list[str]):
    for archive_format in formats:
        if archive_format == "tar" and tarfile.is_tarfile(file_path):
            return _extract_tar
        if archive_format == "zip" and zipfile.is_zipfile(file_path):
            return _extract_zip
    return None


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


def _inside(base: str, path: str) -> bool:
    """Whether ``path`` (already resolved) is ``base`` or below it."""
    try:
        return os.path.commonpath([base, path]) == base
    except ValueError:  # different drives on Windows
        return False


def _checked_destination(base: str, name: str, archive: str) -> str:
    """Where member ``name`` lands, resolving links already extracted; refuses escapes."""
    parts = name.replace("\\", "/").split("/")
    if os.path.isabs(name) or name.startswith(("/", "\\")) or ".." in parts:
        raise _unsafe(archive, name, "its path is absolute or contains '..'")
    target = os.path.realpath(os.path.join(base, name))
    if not _inside(base, target):
        raise _unsafe(archive, name, "it would be written outside the extraction folder")
    return target


def _unsafe(archive: str, name: str, why: str) -> ValueError:
    return ValueError(
        f"Refusing to extract {archive}: member {name!r} is unsafe ({why}). "
        "Nothing was extracted; the archive may be corrupt or malicious."
    )


def _extract_tar(file_path: str, staging: str) -> None:
    base = os.path.realpath(staging)
    # The "data" filter (Python >= 3.11.4) is a second line of defence and drops
    # set-uid bits and ownership; where it is missing our own checks still apply.
    extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(file_path) as archive:
        # Member by member, so the checks see the links extracted before.
        for member in archive:
            _check_tar_member(base, member, file_path)
            archive.extract(member, base, **extra)


def _check_tar_member(base: str, member: tarfile.TarInfo, archive: str) -> None:
    destination = _checked_destination(base, member.name, archive)
    if member.issym():
        if os.path.isabs(member.linkname):
            raise _unsafe(archive, member.name, "it is a link to an absolute path")
        link_target = os.path.realpath(os.path.join(os.path.dirname(destination), member.linkname))
        if not _inside(base, link_target):
            raise _unsafe(archive, member.name, "it is a link that leads outside the folder")
    elif member.islnk():
        _checked_destination(base, member.linkname, archive)
    elif not (member.isfile() or member.isdir()):
        raise _unsafe(archive, member.name, "it is a device or fifo, not a file or folder")


def _extract_zip(file_path: str, staging: str) -> None:
    base = os.path.realpath(staging)
    with zipfile.ZipFile(file_path) as archive:
        members = archive.infolist()
        for member in members:  # zip files hold no links: check all before writing any
            _checked_destination(base, member.filename, file_path)
        archive.extractall(base, members=members)
