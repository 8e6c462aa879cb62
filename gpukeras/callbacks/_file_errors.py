"""Errors of callbacks that write files: they name the callback, what it wrote and the file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def naming_failed_writes(callback: str, what: str, path: str) -> Iterator[None]:
    """Re-raise an ``OSError`` of the block (a full disk, a size limit) as one that says which
    callback failed to write what, and where; same errno, so ``except OSError`` still works.

    The original is the new error's ``__context__`` but is not printed again.
    """
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error)
        message = f"{callback} could not write {what}: {reason}"
        filename = error.filename or path
        if error.errno is None:
            raise OSError(f"{message}: {filename!r}") from None
        raise OSError(error.errno, message, filename) from None
