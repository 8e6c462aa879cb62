"""Interrupted checkpoint writes: Ctrl-C always stops fit, and what a killed writer leaves is
cleaned up at the next save to the same path; the previous checkpoint survives both."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from gpukeras import callbacks, layers, models
from gpukeras.saving import _api, _atomic, _hdf5, atomic_write_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUFFIXES = ["m.h5", "m.weights.h5", "m.keras"]


def _model():
    model = models.Sequential([layers.Input((3,)), layers.Dense(8), layers.Dense(2)])
    model.compile("adam", "mse")
    return model


def _checkpoint(path):
    return callbacks.ModelCheckpoint(str(path), save_weights_only=path.name.endswith(".weights.h5"))


def _temporaries(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler (KeyboardInterrupt), whatever the runner installed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class _InterruptOnCleanup:
    """Delivers Ctrl-C while Python runs a finalizer, as h5py's object clean-up does: a
    KeyboardInterrupt raised there is printed ("Exception ignored in ...") and lost."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        [None for _ in range(3)]  # a call: Python runs the signal handler here, in __del__


def _writer_name(path):
    return "write_legacy_model" if path.name == "m.h5" else "write_keras3_weights"


def _arm_fault(monkeypatch, point, path, armed):
    """Make the save at ``point`` get Ctrl-C once ``armed`` holds True."""
    if point in ("inside the HDF5 writer", "in h5py's clean-up"):
        real = getattr(_hdf5, _writer_name(path))

        def writer(file, model):
            real(file, model)
            if armed:
                if point == "inside the HDF5 writer":
                    raise KeyboardInterrupt
                _InterruptOnCleanup()  # dropped at once, its finalizer sends SIGINT

        monkeypatch.setattr(_hdf5, _writer_name(path), writer)
    elif point == "while writing the file":
        real_open = _atomic.closed_quietly_on_error

        @contextlib.contextmanager
        def interrupted(file):
            with real_open(file) as opened:
                if armed:
                    opened.write(b"partial")
                    raise KeyboardInterrupt
                yield opened

        monkeypatch.setattr(_atomic, "closed_quietly_on_error", interrupted)
        monkeypatch.setattr(_api, "closed_quietly_on_error", interrupted)
    else:  # before the rename
        real_fsync = _atomic._fsync_path

        def fsync(where):
            if armed and where.endswith(".tmp"):
                raise KeyboardInterrupt
            real_fsync(where)

        monkeypatch.setattr(_atomic, "_fsync_path", fsync)


class _Recorder(callbacks.Callback):
    """Records epochs begun; after the first epoch's checkpoint, arms the fault."""

    def __init__(self, path, armed):
        super().__init__()
        self.path, self.armed, self.epochs, self.first = path, armed, [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            self.first = self.path.read_bytes()
            self.armed.append(True)


@pytest.mark.parametrize("name", SUFFIXES)
@pytest.mark.parametrize(
    "point",
    [
        "inside the HDF5 writer",
        "in h5py's clean-up",
        "while writing the file",
        "before the rename",
    ],
)
def test_ctrl_c_during_a_checkpoint_write_stops_fit_and_keeps_the_previous_checkpoint(
    tmp_path, monkeypatch, default_sigint, point, name
):
    path = tmp_path / name
    armed: list[bool] = []
    _arm_fault(monkeypatch, point, path, armed)
    recorder = _Recorder(path, armed)
    model = _model()
    x, y = np.ones((8, 3), np.float32), np.ones((8, 2), np.float32)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, verbose=0, callbacks=[_checkpoint(path), recorder])
    assert recorder.epochs == [0, 1]  # stopped in the second epoch's save
    assert path.read_bytes() == recorder.first
    assert _temporaries(tmp_path) == []
    monkeypatch.undo()
    _model().load_weights(str(path))


def test_ctrl_c_in_h5py_clean_up_is_raised_even_when_the_save_fails_too(
    tmp_path, monkeypatch, default_sigint
):
    def writer(file, model):
        _InterruptOnCleanup()
        raise ValueError("broken layer")

    monkeypatch.setattr(_hdf5, "write_keras3_weights", writer)
    with pytest.raises(KeyboardInterrupt):
        _model().save_weights(str(tmp_path / "m.weights.h5"))
    assert os.listdir(tmp_path) == []


def test_a_users_sigint_handler_is_left_alone_during_saves(tmp_path, monkeypatch):
    def handler(number, frame):
        pass

    seen = []
    real = _hdf5.write_keras3_weights

    def writer(file, model):
        seen.append(signal.getsignal(signal.SIGINT))
        real(file, model)

    monkeypatch.setattr(_hdf5, "write_keras3_weights", writer)
    previous = signal.signal(signal.SIGINT, handler)
    try:
        _model().save_weights(str(tmp_path / "m.weights.h5"))
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [handler]


_SAVING_FOREVER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from gpukeras import callbacks, layers, models

    model = models.Sequential([layers.Input((20,)), layers.Dense(200), layers.Dense(1)])
    model.compile("adam", "mse")
    x, y = np.ones((64, 20), np.float32), np.ones((64, 1), np.float32)
    save = callbacks.ModelCheckpoint(sys.argv[1], save_freq=1)  # every batch
    model.fit(x, y, epochs=100000, batch_size=8, verbose=0, callbacks=[save])
    print("fit finished")
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_repeated_checkpoint_writes_ends_the_process(tmp_path):
    path = tmp_path / "m.h5"
    child = subprocess.Popen(
        [sys.executable, "-c", _SAVING_FOREVER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p),
        },
    )
    try:
        deadline = time.monotonic() + 60  # a hang limit, not a timing assertion
        while not path.exists() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert path.exists(), "the child never wrote a checkpoint"
        time.sleep(0.2)  # well inside the loop of saves
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode != 0, out
    assert "KeyboardInterrupt" in err
    assert "fit finished" not in out
    assert _temporaries(tmp_path) == []
    loaded = models.load_model(str(path))
    assert loaded.layers[0].units == 200


# -- temporaries left by killed writers ------------------------------------------------
_KILLED_MID_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from gpukeras.saving import atomic_write_path

    with atomic_write_path(sys.argv[1]) as temporary:
        with open(temporary, "wb") as file:
            file.write(b"half a checkpoint")
        os.kill(os.getpid(), signal.SIGTERM)
    """
)


def _killed_writer(path):
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_MID_WRITE, str(path)],
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p),
        },
        capture_output=True,
    )
    assert done.returncode == -signal.SIGTERM, done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_next_checkpoint_removes_what_a_writer_killed_by_sigterm_left(tmp_path):
    path = tmp_path / "m.h5"
    _killed_writer(path)
    (left,) = _temporaries(tmp_path)
    assert left.startswith(".m.h5.")
    model = _model()
    x, y = np.ones((8, 3), np.float32), np.ones((8, 2), np.float32)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[_checkpoint(path)])
    assert os.listdir(tmp_path) == ["m.h5"]


LOOK_ALIKES = [
    ".m.h5.0123456789AB.tmp",  # upper-case hex: not our name
    ".m.h5.0123456789a.tmp",  # 11 digits
    ".m.h5.0123456789abc.tmp",  # 13 digits
    ".m.h5.0123456789ab.tmp.keep",
    ".m.h5.0123456789ab.temp",
    "m.h5.0123456789ab.tmp",  # no leading dot
    ".other.h5.0123456789ab.tmp",  # another file's temporary
    ".m.h5.x.0123456789ab.tmp",
]


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_cleaning_temporaries_removes_only_dead_ones_of_our_own_name(tmp_path):
    path = tmp_path / "m.h5"
    for name in LOOK_ALIKES:
        (tmp_path / name).write_bytes(b"someone else's")
    (tmp_path / ".m.h5.fedcba987654.tmp").mkdir()  # a folder with our name
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"precious")
    os.symlink(outside, tmp_path / ".m.h5.aaaaaaaaaaaa.tmp")  # a link with our name
    dead = tmp_path / ".m.h5.0123456789ab.tmp"
    dead.write_bytes(b"half a checkpoint")
    live = tmp_path / ".m.h5.bbbbbbbbbbbb.tmp"
    live.write_bytes(b"being written")
    import fcntl

    with open(live, "rb") as holder:  # a live writer in another process holds this lock
        fcntl.flock(holder, fcntl.LOCK_EX)
        _model().save(str(path))
    assert not dead.exists()
    assert live.exists()
    for name in LOOK_ALIKES:
        assert (tmp_path / name).read_bytes() == b"someone else's"
    assert (tmp_path / ".m.h5.fedcba987654.tmp").is_dir()
    assert os.path.islink(tmp_path / ".m.h5.aaaaaaaaaaaa.tmp")
    assert outside.read_bytes() == b"precious"


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_writer_holds_its_temporary_so_a_concurrent_save_keeps_it(tmp_path):
    path = tmp_path / "m.weights.h5"
    with atomic_write_path(str(path)) as temporary:
        with open(temporary, "wb") as file:
            file.write(b"first writer")
        _model().save_weights(str(path))  # a second writer to the same path meanwhile
        assert os.path.exists(temporary)
    assert path.read_bytes() == b"first writer"
    assert _temporaries(tmp_path) == []
