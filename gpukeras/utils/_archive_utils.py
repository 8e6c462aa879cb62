"""Safe extraction of tar and zip archives (used by ``get_file(extract=True)``).

An archive is extracted into a fresh temporary folder next to its destination,
member by member and never through a link (see :mod:`_safe_tar` and
:mod:`_safe_zip`), and moved into place only when every member was accepted,
so the destination never holds half an archive. A member is refused (and
nothing is kept) when its path is absolute, climbs out with ``..``, passes
through a link, or is a link that would lead outside once every component is
resolved, a device or a fifo; an archive is refused when it would inflate past
its budget, and a damaged, encrypted or unsupported one gets an error naming
it. Keras skips unsafe members with a warning; we refuse the archive, because
an archive that tries this is not one to trust.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable

from gpukeras.utils._archive_members import ArchiveError
from gpukeras.utils._safe_tar import extract_tar, is_tar
from gpukeras.utils._safe_zip import extract_zip, is_zip

ARCHIVE_FORMATS = ("tar", "zip")

__all__ = ["ARCHIVE_FORMATS", "ArchiveError", "archive_formats", "extract_archive"]


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
    Raises :class:`ArchiveError` (a ``ValueError``) naming the archive and the member
    when a member is unsafe, the archive is a bomb, damaged or unsupported.
    """
    if os.path.basename(os.path.normpath(destination)) in ("", ".", ".."):
        raise ValueError(f"Refusing to extract into {destination!r}: it is not a folder name.")
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
        if archive_format == "tar" and is_tar(file_path):
            return extract_tar
        if archive_format == "zip" and is_zip(file_path):
            return extract_zip
    return None


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)
