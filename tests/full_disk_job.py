"""Full-disk scenarios for tests/test_full_disk.py, run in a child process.

``python tests/full_disk_job.py MODE FOLDER`` runs every scenario and prints one
JSON line per scenario. A crash (h5py used to die with SIGSEGV on a full disk)
ends the child, not pytest. MODE says how the disk is made full:

- ``tmpfs``: FOLDER is a small tmpfs; a filler file takes all but a few bytes;
- ``fsize``: ``RLIMIT_FSIZE`` caps how large any file may grow (SIGXFSZ is
  ignored, so writes past the cap raise EFBIG instead of killing the process).

Each scenario first writes a good file where it keeps one (a checkpoint, a
backup), then fills the disk and runs ``fit`` again: it reports the error
``fit`` raised, the folder's files afterwards and whether the old file survived.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sys
import traceback

import numpy as np

from gpukeras import callbacks, layers, models

CHECKPOINT_FREE = 8192  # bytes left: room to create a temporary, not to finish a checkpoint


def _scenarios() -> dict:
    """name -> (callback factory, the file it keeps across runs or None, bytes left free)."""
    return {
        "ModelCheckpoint .h5": (
            lambda folder: callbacks.ModelCheckpoint(os.path.join(folder, "m.h5")),
            "m.h5",
            CHECKPOINT_FREE,
        ),
        "ModelCheckpoint .weights.h5": (
            lambda folder: callbacks.ModelCheckpoint(
                os.path.join(folder, "m.weights.h5"), save_weights_only=True
            ),
            "m.weights.h5",
            CHECKPOINT_FREE,
        ),
        "ModelCheckpoint .keras": (
            lambda folder: callbacks.ModelCheckpoint(os.path.join(folder, "m.keras")),
            "m.keras",
            CHECKPOINT_FREE,
        ),
        "BackupAndRestore": (
            lambda folder: callbacks.BackupAndRestore(folder, delete_checkpoint=False),
            "latest.backup.npz",
            CHECKPOINT_FREE,
        ),
        "CSVLogger": (lambda folder: callbacks.CSVLogger(os.path.join(folder, "log.csv")), None, 0),
        "TensorBoard": (lambda folder: callbacks.TensorBoard(os.path.join(folder, "tb")), None, 0),
    }


def _model() -> models.Sequential:
    model = models.Sequential([layers.Input((20,)), layers.Dense(200), layers.Dense(1)])
    model.compile("adam", "mse")
    return model


def _fit(model: models.Sequential, callback: callbacks.Callback, epochs: int) -> None:
    x = np.zeros((32, 20), np.float32)
    y = np.zeros((32, 1), np.float32)
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=[callback])


@contextlib.contextmanager
def _full_disk(mode: str, root: str, free: int):
    if mode == "fsize":
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (free, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        return
    filler = os.path.join(root, "filler")
    _fill(filler, free)
    try:
        yield
    finally:
        os.remove(filler)


def _fill(path: str, free: int) -> None:
    """Write ``path`` until the file system is full, then give ``free`` bytes back."""
    with open(path, "wb", buffering=0) as file:
        for chunk in (b"x" * 65536, b"x" * 4096, b"x"):
            with contextlib.suppress(OSError):
                while True:
                    file.write(chunk)
    if free:
        os.truncate(path, os.path.getsize(path) - free)


def _files(folder: str) -> list[str]:
    found = []
    for where, _, names in os.walk(folder):
        found.extend(os.path.relpath(os.path.join(where, name), folder) for name in names)
    return sorted(found)


def _read(path: str | None) -> bytes | None:
    if path is None or not os.path.exists(path):
        return None
    with open(path, "rb") as file:
        return file.read()


def _run(name: str, mode: str, root: str) -> dict:
    make_callback, kept, free = _scenarios()[name]
    folder = os.path.join(root, name.replace(" ", "_"))
    os.makedirs(folder)
    model = _model()
    kept_path = None if kept is None else os.path.join(folder, kept)
    if kept_path is not None:
        _fit(model, make_callback(folder), epochs=1)  # the good file a failed save must keep
    before = _read(kept_path)
    assert kept_path is None or before is not None, f"{name}: the first fit wrote no {kept}"
    error = None
    with _full_disk(mode, root, free):
        try:
            _fit(model, make_callback(folder), epochs=2)
        except Exception as exc:
            error = exc
    return {
        "scenario": name,
        "folder": folder,
        "error_type": None if error is None else type(error).__name__,
        "errno": getattr(error, "errno", None),
        "message": str(error),
        "traceback": "".join(traceback.format_exception(error)) if error else "",
        "files": _files(folder),
        "kept_file_intact": _read(kept_path) == before,
    }


def main() -> None:
    mode, root = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for name in _scenarios():
        print(json.dumps(_run(name, mode, root)), flush=True)


if __name__ == "__main__":
    main()
