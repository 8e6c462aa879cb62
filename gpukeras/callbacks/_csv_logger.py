"""CSVLogger: one CSV row per epoch (Keras 3's columns and value formatting)."""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterable
from typing import Any

import numpy

from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._file_errors import naming_failed_writes
from gpukeras.distributed import is_chief


def _csv_value(value: Any) -> Any:
    """A logs value as Keras writes it: strings and scalars as they are, sequences as a list."""
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable) and not (isinstance(value, numpy.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Stream each epoch's logs to a CSV file, flushed after every row.

    Columns are ``epoch`` (0-based) and then the sorted keys of the first
    epoch's logs. As in Keras 3, when ``fit`` validates but the first epoch
    has no ``val_`` entries (``validation_freq > 1``), ``val_<key>`` columns
    are added for every key; unlike Keras 3 they are not added to a fit without
    validation data. Keys missing in a later epoch are written as ``NA``.
    With ``append=True`` the header is written only when the file is new or
    empty. Values are quoted by the :mod:`csv` module; a non-scalar value is
    written as Keras does, ``"[v1, v2, ...]"``.

    Reads the epoch logs once per epoch (one transfer, shared with the other
    callbacks); never reads batch logs.

    Args:
        filename: Path of the CSV file (``str`` or path-like). Required. Its
            folder must exist; a file that cannot be opened for writing raises
            an ``OSError`` naming ``filename`` when training begins.
        separator: Field separator, a single character; default ``','``.
        append: Append to an existing file instead of overwriting it; default ``False``.
    """

    def __init__(self, filename: Any, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        try:
            self.filename = os.fspath(filename)
        except TypeError:
            raise TypeError(
                f"`filename` must be a path (str or os.PathLike). Received: filename={filename!r}"
            ) from None
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"`separator` must be a single character. Received: separator={separator!r}"
            )
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: Any = None
        self.writer: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not is_chief():
            return  # data-parallel training: rank 0 alone writes the file
        self._open()
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not is_chief():
            return
        logs = logs if logs is not None else {}
        if self.keys is None:
            self.keys = self._columns(logs)
        with self._naming_failed_writes():
            if self.writer is None:
                self._start_writer()
            row = {"epoch": epoch}
            row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
            self.writer.writerow(row)
            self.csv_file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        with self._naming_failed_writes():
            self._close()

    def _naming_failed_writes(self) -> Any:
        return naming_failed_writes("CSVLogger", "a row", self.filename)

    def _columns(self, logs: dict[str, Any]) -> list[str]:
        keys = sorted(logs.keys())
        validates = self.params.get("do_validation", True)
        if keys and validates and not any(key.startswith("val_") for key in keys):
            keys.extend(f"val_{key}" for key in list(keys))
        return keys

    def _start_writer(self) -> None:
        if self.csv_file is None:  # on_epoch_end without on_train_begin
            self._open()

        class Dialect(csv.excel):
            delimiter = self.sep

        self.writer = csv.DictWriter(
            self.csv_file, fieldnames=["epoch", *(self.keys or [])], dialect=Dialect
        )
        if self.append_header:
            self.writer.writeheader()

    def _open(self) -> None:
        if self.append:
            self.append_header = not _has_content(self.filename)
        self._close()
        try:
            # newline="" lets the csv module write its own "\r\n", as Keras's files have.
            self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        except OSError as error:
            raise type(error)(
                f"CSVLogger cannot open filename={self.filename!r} for writing: "
                f"{error.strerror or error}"
            ) from error

    def _release(self) -> None:  # see CallbackList.release
        # fit is failing already (perhaps on a full disk): closing flushes what is buffered,
        # and a second identical error would hide the first.
        with contextlib.suppress(OSError):
            self._close()

    def _close(self) -> None:
        file, self.csv_file, self.writer = self.csv_file, None, None
        if file is not None and not file.closed:
            file.close()


def _has_content(filename: str) -> bool:
    """Whether ``filename`` exists and its first line is not empty (Keras's header test)."""
    try:
        with open(filename, newline="") as file:
            return bool(file.readline())
    except FileNotFoundError:
        return False
