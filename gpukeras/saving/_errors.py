"""The one error family for files gpukeras cannot or will not load."""

from __future__ import annotations


class FileFormatError(ValueError):
    """A model or weights file that is unreadable, malformed, unsupported or unsafe.

    Subclasses ``ValueError`` (what Keras raises for the same files), so code
    written for Keras keeps working, while tests and callers can tell a
    refused file apart from a bug. Messages name the file, the part of it at
    fault and what was expected.
    """
