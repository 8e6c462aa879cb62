"""CSVLogger: columns, header rules, append, separator, flushing, value formatting, errors."""

from __future__ import annotations

import csv
import os
import pathlib

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras.callbacks import Callback, CSVLogger
from tests.callbacks_support import tiny_data, tiny_model


def drive(callback, epoch_logs, params=None):
    """The hooks fit calls, with the given epoch logs."""
    callback.set_params(params or {})
    callback.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        callback.on_epoch_end(epoch, dict(logs))
    callback.on_train_end()


def read(path, delimiter=","):
    with open(path, newline="") as file:
        return list(csv.reader(file, delimiter=delimiter))


def test_columns_are_epoch_then_sorted_keys(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 0.5, "accuracy": 0.25, "val_loss": 0.75}, {"loss": 0.25, "accuracy": 0.5}]
    drive(CSVLogger(path), logs, {"do_validation": True})
    assert read(path) == [
        ["epoch", "accuracy", "loss", "val_loss"],
        ["0", "0.25", "0.5", "0.75"],
        ["1", "0.5", "0.25", "NA"],
    ]
    assert path.read_bytes().endswith(b"\r\n")  # the csv module's line ends, as in Keras


def test_no_val_columns_without_validation(tmp_path):
    path = tmp_path / "log.csv"
    drive(CSVLogger(path), [{"loss": 0.5}], {"do_validation": False})
    assert read(path) == [["epoch", "loss"], ["0", "0.5"]]


def test_val_columns_added_when_first_epoch_skips_validation(tmp_path):
    # Keras 3: validation_freq=2 leaves val_ keys out of the first epoch's logs.
    path = tmp_path / "log.csv"
    logs = [{"loss": 0.5}, {"loss": 0.25, "val_loss": 0.75}]
    drive(CSVLogger(path), logs, {"do_validation": True})
    assert read(path) == [["epoch", "loss", "val_loss"], ["0", "0.5", "NA"], ["1", "0.25", "0.75"]]


def test_overwrites_without_append(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("old content\n")
    drive(CSVLogger(path), [{"loss": 1.0}], {"do_validation": False})
    assert read(path) == [["epoch", "loss"], ["0", "1.0"]]


def test_append_to_existing_file_writes_no_header(tmp_path):
    path = tmp_path / "log.csv"
    drive(CSVLogger(path, append=True), [{"loss": 1.0}], {"do_validation": False})
    drive(CSVLogger(path, append=True), [{"loss": 0.5}], {"do_validation": False})
    assert read(path) == [["epoch", "loss"], ["0", "1.0"], ["0", "0.5"]]


def test_append_to_empty_file_writes_header(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("")
    drive(CSVLogger(path, append=True), [{"loss": 1.0}], {"do_validation": False})
    assert read(path) == [["epoch", "loss"], ["0", "1.0"]]


def test_separator_and_quoting(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 0.5, "note": "a;b", "vec": np.array([1, 2]), "zero_d": np.float32(2.5)}]
    drive(CSVLogger(path, separator=";"), logs, {"do_validation": False})
    text = path.read_text()
    assert text.splitlines()[0] == "epoch;loss;note;vec;zero_d"
    # csv quotes the separator; Keras's own '"[1, 2]"' text gets its quotes doubled.
    assert text.splitlines()[1] == '0;0.5;"a;b";"""[1, 2]""";2.5'
    assert read(path, ";")[1] == ["0", "0.5", "a;b", '"[1, 2]"', "2.5"]


def test_each_row_is_flushed(tmp_path):
    path = tmp_path / "log.csv"
    rows_seen = []

    class Reader(Callback):
        def on_epoch_end(self, epoch, logs=None):
            rows_seen.append(len(read(path)))

    x, y = tiny_data()
    tiny_model().fit(x, y, epochs=3, verbose=0, callbacks=[CSVLogger(path), Reader()])
    assert rows_seen == [2, 3, 4]


def test_fit_reads_epoch_logs_once_per_epoch(tmp_path):
    x, y = tiny_data()
    model = tiny_model()
    model.fit(x, y, epochs=1, verbose=0)
    before = K.host_syncs()
    model.fit(
        x,
        y,
        epochs=3,
        batch_size=16,
        verbose=0,
        validation_split=0.25,
        callbacks=[CSVLogger(tmp_path / "log.csv")],
    )
    assert K.host_syncs() - before == 3
    rows = read(tmp_path / "log.csv")
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]


def test_missing_folder_names_filename(tmp_path):
    path = tmp_path / "missing" / "log.csv"
    callback = CSVLogger(path)
    with pytest.raises(FileNotFoundError, match=r"CSVLogger cannot open filename='.*log.csv'"):
        callback.on_train_begin()


def test_directory_path_names_filename(tmp_path):
    x, y = tiny_data()
    with pytest.raises(OSError, match=r"filename="):
        tiny_model().fit(x, y, verbose=0, callbacks=[CSVLogger(tmp_path)])


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_names_filename(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=r"filename="):
            CSVLogger(tmp_path / "log.csv").on_train_begin()
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"filename": 3}, TypeError, r"Received: filename=3"),
        ({"filename": "x.csv", "separator": ";;"}, ValueError, r"Received: separator=';;'"),
        ({"filename": "x.csv", "separator": 0}, ValueError, r"Received: separator=0"),
    ],
)
def test_bad_arguments(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        CSVLogger(**kwargs)


def test_accepts_pathlike(tmp_path):
    callback = CSVLogger(pathlib.Path(tmp_path) / "p.csv")
    assert callback.filename == str(tmp_path / "p.csv")


def test_epoch_end_without_train_begin_opens_the_file(tmp_path):
    callback = CSVLogger(tmp_path / "log.csv")
    callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    callback.on_train_end()
    assert read(tmp_path / "log.csv") == [["epoch", "loss", "val_loss"], ["0", "1.0", "2.0"]]


class _FullDiskFile:
    """A text file whose buffer never reaches the disk: flush and close fail with ENOSPC."""

    def __init__(self, *args, **kwargs):
        self.closed = False

    def write(self, text):
        return len(text)

    def flush(self):
        raise OSError(28, "No space left on device")

    def close(self):
        self.closed = True
        self.flush()


def test_a_full_disk_is_one_error_naming_csvlogger_and_the_file(tmp_path, monkeypatch):
    import gpukeras.callbacks._csv_logger as module

    monkeypatch.setattr(module, "open", _FullDiskFile, raising=False)
    path = str(tmp_path / "log.csv")
    model = tiny_model()
    x, y = tiny_data()
    with pytest.raises(OSError) as info:
        model.fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    error = info.value
    assert error.errno == 28
    assert error.filename == path
    assert "CSVLogger could not write" in str(error)
    # Closing after the failure fails again; that second error is not raised or chained.
    assert error.__suppress_context__
    assert not isinstance(error.__context__.__context__, OSError)
