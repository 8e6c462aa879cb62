"""Every device-to-host read the stand-in sees, counted by the line that asked for it."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

_STANDIN = str(Path(__file__).resolve().parents[1])
_READS: collections.Counter[str] = collections.Counter()


def record(kind: str) -> None:
    """Count one host read of ``kind`` (``get``, ``float``...) at its first caller outside here."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_STANDIN):
        frame = frame.f_back
    where = "?" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"
    _READS[f"{where} ({kind})"] += 1


def host_reads() -> collections.Counter[str]:
    """A copy of the counts: ``{"path:line (kind)": n}``."""
    return collections.Counter(_READS)


def reset_host_reads() -> None:
    _READS.clear()
