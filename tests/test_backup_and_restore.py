"""BackupAndRestore: exact resume after a crash or SIGKILL; atomic checkpoint files."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import gpukeras
from gpukeras import backend as K
from gpukeras import callbacks, layers, saving

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 4
BATCH = 8


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 100)]
    return x, y


MODEL_KINDS = ["sequential", "functional chain", "functional graph"]


def _build(kind="sequential"):
    """The same model from the same seed, as a restarted script would build it: a
    Sequential, the same layers as a functional chain (the fused step), or a functional
    graph with a skip connection (the tape step)."""
    gpukeras.utils.set_random_seed(7)
    stack = [
        layers.Dense(16, activation="relu"),
        layers.Dropout(0.3),  # global device stream
        layers.Dropout(0.2, seed=5),  # its own generator
        layers.Dense(3, activation="softmax"),
    ]
    inputs = layers.Input((8,))
    if kind == "sequential":
        model = gpukeras.models.Sequential([inputs, *stack])
    else:
        hidden = stack[0](inputs)
        x = stack[2](stack[1](hidden))
        if kind == "functional graph":
            x = gpukeras.ops.add(x, hidden)
        model = gpukeras.Model(inputs, stack[3](x))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit(model, callback_list=(), epochs=EPOCHS, **kwargs):
    x, y = _data()
    return model.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=epochs,
        shuffle=True,
        verbose=0,
        callbacks=list(callback_list),
        **kwargs,
    )


class Crash(callbacks.Callback):
    """Raise after training batch ``batch`` of epoch ``epoch`` (a simulated crash)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.current, batch) == (self.epoch, self.batch):
            raise RuntimeError("simulated crash")


def _crash_then_resume(backup_dir, save_freq, crash_at, extra=(), kind="sequential", **kwargs):
    crashing = [*extra, callbacks.BackupAndRestore(backup_dir, save_freq), Crash(*crash_at)]
    with pytest.raises(RuntimeError, match="simulated crash"):
        _fit(_build(kind), crashing, **kwargs)
    model = _build(kind)  # the restarted process builds the model again
    history = _fit(model, [*extra, callbacks.BackupAndRestore(backup_dir, save_freq)], **kwargs)
    return model, history


def _assert_same_weights(expected, actual):
    assert len(expected) == len(actual)
    for a, b in zip(expected, actual):
        np.testing.assert_array_equal(a, b)  # bit for bit, not approximately


# -- in-process crash and resume ------------------------------------------------------
# 13 batches per epoch; integer save_freq counts batches across epochs.
@pytest.mark.parametrize(
    "save_freq, crash_at, resumed_epoch",
    [
        (5, (2, 6), 2),  # backup after epoch 2's batch 3: batches 4-6 are redone
        (3, (1, 0), 0),  # backup after epoch 0's batch 11: one batch of epoch 0 is left
        (13, (2, 0), 1),  # backup after epoch 1's last batch: only its logs are left
        ("epoch", (2, 6), 2),  # backup at the end of epoch 1
    ],
)
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_resume_is_bit_identical(tmp_path, backend_name, save_freq, crash_at, resumed_epoch, kind):
    reference = _build(kind)
    expected_history = _fit(reference).history
    model, history = _crash_then_resume(str(tmp_path / "backup"), save_freq, crash_at, kind=kind)
    assert history.epoch == list(range(resumed_epoch, EPOCHS))
    assert not (tmp_path / "backup").exists()  # delete_checkpoint=True
    if backend_name == "cupy":
        return  # cuRAND state cannot be restored: only the position is exact there
    _assert_same_weights(reference.get_weights(), model.get_weights())
    for key, values in expected_history.items():
        assert history.history[key] == values[resumed_epoch:], key  # the resumed epoch's too


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
@pytest.mark.filterwarnings("ignore:The training data ran out")
@pytest.mark.parametrize("save_freq, crash_at", [(3, (1, 4)), ("epoch", (2, 1))])
def test_resume_keeps_the_pass_that_steps_per_epoch_splits(tmp_path, save_freq, crash_at):
    # 13 batches a pass, 5 an epoch: epochs take batches 0-4, 5-9, 10-12, then a new pass.
    reference = _build()
    _fit(reference, steps_per_epoch=5)
    model, _ = _crash_then_resume(str(tmp_path / "backup"), save_freq, crash_at, steps_per_epoch=5)
    _assert_same_weights(reference.get_weights(), model.get_weights())


class _Batches(gpukeras.utils.Sequence):
    """_data() as a Sequence of 13 batches of BATCH rows."""

    def __init__(self):
        super().__init__()
        self.x, self.y = _data()

    def __len__(self):
        return -(-len(self.x) // BATCH)

    def __getitem__(self, index):
        rows = slice(index * BATCH, (index + 1) * BATCH)
        return self.x[rows], self.y[rows]


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
@pytest.mark.filterwarnings("ignore:The training data ran out")
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("save_freq, crash_at", [(3, (1, 4)), (5, (2, 0)), ("epoch", (2, 1))])
def test_resume_keeps_the_place_in_a_sequence_that_steps_per_epoch_splits(
    tmp_path, shuffle, save_freq, crash_at
):
    # Epochs read batches 0-4, 5-9, 10-12 of the Sequence's (shuffled) order, then a new pass.
    def fit(model, callback_list=()):
        return model.fit(
            _Batches(), epochs=EPOCHS, steps_per_epoch=5, shuffle=shuffle, verbose=0,
            callbacks=list(callback_list),
        )  # fmt: skip

    reference = _build()
    fit(reference)
    backup_dir = str(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(_build(), [callbacks.BackupAndRestore(backup_dir, save_freq), Crash(*crash_at)])
    model = _build()
    fit(model, [callbacks.BackupAndRestore(backup_dir, save_freq)])
    _assert_same_weights(reference.get_weights(), model.get_weights())


class DrawsGlobalRandomNumbers(callbacks.Callback):
    """User code that draws from NumPy's and Python's global generators each batch."""

    def on_train_batch_begin(self, batch, logs=None):
        np.random.random()
        random.random()


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
def test_resumed_run_continues_every_random_stream(tmp_path):
    """After fit, a resumed process draws the same next numbers as an uninterrupted one."""
    _fit(_build(), [DrawsGlobalRandomNumbers()])
    expected = (K.random.uniform((4,)), np.random.random(), random.random())
    _crash_then_resume(str(tmp_path / "b"), 5, (3, 2), [DrawsGlobalRandomNumbers()])
    actual = (K.random.uniform((4,)), np.random.random(), random.random())
    np.testing.assert_array_equal(expected[0], actual[0])
    assert expected[1:] == actual[1:]


def test_ema_is_finalized_when_the_backup_holds_the_last_epoch(tmp_path):
    """Killed after the last backup but before fit ended: the restart only finalizes EMA."""

    class CrashAtLastEpochEnd(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == EPOCHS - 1:
                raise RuntimeError("simulated crash")

    def build():
        model = _build()
        model.compile(optimizer=gpukeras.optimizers.Adam(use_ema=True), loss="mse")
        return model

    reference = build()
    _fit(reference)
    backup = callbacks.BackupAndRestore(str(tmp_path / "b"))
    with pytest.raises(RuntimeError):
        _fit(build(), [backup, CrashAtLastEpochEnd()])
    model = build()
    history = _fit(model, [callbacks.BackupAndRestore(str(tmp_path / "b"))])
    assert history.epoch == []
    _assert_same_weights(reference.get_weights(), model.get_weights())


def test_batch_backups_read_the_shuffle_order_once_per_epoch(tmp_path):
    model = _build()
    _fit(model, epochs=1)  # compile and build outside the count
    before = K.host_syncs()
    _fit(model, [callbacks.BackupAndRestore(str(tmp_path / "b"), save_freq=1)], epochs=2)
    syncs = K.host_syncs() - before
    steps = 2 * 13
    weights, optimizer_arrays = len(model.weights), len(model.optimizer.variables)
    # Per backup: weights, optimizer arrays and the running sums; per epoch: the order and logs.
    assert syncs == steps * (weights + optimizer_arrays + 1) + 2 * 2


# -- files, options and bad input -----------------------------------------------------
def _one_backup(backup_dir, **kwargs):
    """Train until a backup exists, then crash."""
    with pytest.raises(RuntimeError):
        _fit(_build(), [callbacks.BackupAndRestore(backup_dir, **kwargs), Crash(1, 3)])


def test_delete_checkpoint_false_keeps_the_backup(tmp_path):
    backup_dir = tmp_path / "b"
    _fit(_build(), [callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=False)])
    assert sorted(os.listdir(backup_dir)) == ["latest.backup.npz"]


def test_delete_checkpoint_keeps_other_files_in_the_folder(tmp_path):
    backup_dir = tmp_path / "b"
    backup_dir.mkdir()
    (backup_dir / "notes.txt").write_text("mine")
    (backup_dir / ".latest.backup.npz.0123456789ab.tmp").write_bytes(b"from a killed writer")
    _fit(_build(), [callbacks.BackupAndRestore(str(backup_dir), save_freq=2)])
    assert os.listdir(backup_dir) == ["notes.txt"]


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    backup_dir = tmp_path / "b"
    _one_backup(str(backup_dir), save_freq=4, double_checkpoint=True)
    assert sorted(os.listdir(backup_dir)) == ["latest.backup.npz", "latest.backup.npz.bkp"]
    (backup_dir / "latest.backup.npz").write_bytes(b"PK\x03\x04 damaged")
    model = _build()
    with pytest.warns(UserWarning, match="newest backup is unreadable"):
        history = _fit(model, [callbacks.BackupAndRestore(str(backup_dir), double_checkpoint=True)])
    assert history.epoch == [0, 1, 2, 3]  # the previous backup: epoch 0, batch 8 of 13
    reference = _build()
    _fit(reference)
    _assert_same_weights(reference.get_weights(), model.get_weights())


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
def test_double_checkpoint_after_a_kill_between_rotation_and_write(tmp_path):
    backup_dir = tmp_path / "b"
    _one_backup(str(backup_dir), save_freq=4, double_checkpoint=True)
    os.remove(backup_dir / "latest.backup.npz")  # killed after renaming it to .bkp
    model = _build()
    _fit(model, [callbacks.BackupAndRestore(str(backup_dir), double_checkpoint=True)])
    reference = _build()
    _fit(reference)
    _assert_same_weights(reference.get_weights(), model.get_weights())


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04 truncated zip"])
def test_unreadable_backup_without_a_spare_is_an_os_error(tmp_path, content):
    backup_dir = tmp_path / "b"
    backup_dir.mkdir()
    (backup_dir / "latest.backup.npz").write_bytes(content)
    with pytest.raises(OSError, match="cannot read its backup.*latest.backup.npz"):
        _fit(_build(), [callbacks.BackupAndRestore(str(backup_dir))])


def test_backup_of_another_model_is_refused(tmp_path):
    backup_dir = str(tmp_path / "b")
    _one_backup(backup_dir, save_freq=2)
    other = gpukeras.models.Sequential([layers.Input((8,)), layers.Dense(3)])
    other.compile(optimizer="adam", loss="mse")
    x, y = _data()
    with pytest.raises(ValueError, match="4 weight arrays; this model has 2"):
        other.fit(x, y, verbose=0, callbacks=[callbacks.BackupAndRestore(backup_dir)])


@pytest.mark.parametrize("save_freq", [0, -3, 1.5, True, "batch", None])
def test_bad_save_freq(tmp_path, save_freq):
    with pytest.raises(ValueError, match=f"save_freq={save_freq!r}"):
        callbacks.BackupAndRestore(str(tmp_path), save_freq=save_freq)


def test_empty_backup_dir():
    with pytest.raises(ValueError, match="backup_dir=''"):
        callbacks.BackupAndRestore("")


# -- SIGKILL at random moments -------------------------------------------------------
RESUMING_SCRIPT = """
import sys, time
import numpy as np
import gpukeras
from gpukeras import callbacks, layers

out, backup_dir, pause, started = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
gpukeras.utils.set_random_seed(3)
model = gpukeras.models.Sequential([
    layers.Input((32,)),
    layers.Dense(64, activation="relu"),
    layers.Dropout(0.25),
    layers.Dropout(0.1, seed=11),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy")
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 32)).astype("float32")
y = np.eye(10, dtype="float32")[rng.integers(0, 10, 256)]

class Pause(callbacks.Callback):  # stretches the run so that kills land inside it
    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            open(started, "w").close()
        time.sleep(pause)

model.fit(x, y, batch_size=16, epochs=6, verbose=0,
          callbacks=[Pause(), callbacks.BackupAndRestore(backup_dir, save_freq=3)])
np.savez(out, *model.get_weights())
"""

CHECKPOINTING_SCRIPT = """
import sys
import numpy as np
import gpukeras
from gpukeras import callbacks, layers

weights_path, model_path, started = sys.argv[1], sys.argv[2], sys.argv[3]
gpukeras.utils.set_random_seed(1)
model = gpukeras.models.Sequential([
    layers.Input((64,)), layers.Dense(256), layers.Dense(256), layers.Dense(10),
])
model.compile(optimizer="sgd", loss="mse")

class SaveModel(callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        model.save(model_path)
        open(started, "w").close()

x = np.ones((64, 64), dtype="float32")
y = np.zeros((64, 10), dtype="float32")
checkpoint = callbacks.ModelCheckpoint(weights_path, save_weights_only=True, save_freq=1)
model.fit(x, y, batch_size=16, epochs=10**6, verbose=0, callbacks=[checkpoint, SaveModel()])
"""


def _script(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def _start(*args):
    env = dict(os.environ, GPUKERAS_BACKEND="numpy", PYTHONPATH=REPO)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, *args], env=env, cwd=REPO, stderr=subprocess.PIPE)


def _wait_for(process, path, timeout=60.0):
    """Until ``path`` exists; False when the process ended first."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)
    return True


def _kill(process):
    process.send_signal(signal.SIGKILL)
    process.wait()


def _finish(process):
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()


def test_sigkilled_run_resumes_bit_identical(tmp_path):
    script = _script(tmp_path, "train.py", RESUMING_SCRIPT)
    reference, started = tmp_path / "reference.npz", tmp_path / "started"
    _finish(_start(script, str(reference), str(tmp_path / "ref_backup"), "0", str(started)))
    assert not (tmp_path / "ref_backup").exists()

    out, backup_dir = tmp_path / "resumed.npz", tmp_path / "backup"
    chooser = random.Random(20240607)
    kills = 0
    while True:
        started.unlink(missing_ok=True)
        process = _start(script, str(out), str(backup_dir), "0.004", str(started))
        # Kill only once this run trains, and the first run only once it has backed up.
        if kills >= 6 or not _wait_for(process, started):
            break
        if not _wait_for(process, backup_dir / "latest.backup.npz"):
            break
        time.sleep(chooser.uniform(0.0, 0.15))
        if process.poll() is not None:
            break
        _kill(process)
        kills += 1
    _finish(process)
    assert kills >= 1
    assert not backup_dir.exists()
    with np.load(reference) as expected, np.load(out) as actual:
        assert expected.files == actual.files
        for name in expected.files:
            np.testing.assert_array_equal(expected[name], actual[name])


def test_checkpoint_files_are_complete_after_any_sigkill(tmp_path):
    script = _script(tmp_path, "checkpoint.py", CHECKPOINTING_SCRIPT)
    weights_path, model_path = tmp_path / "w.weights.h5", tmp_path / "m.h5"
    probe = gpukeras.models.Sequential(
        [layers.Input((64,)), layers.Dense(256), layers.Dense(256), layers.Dense(10)]
    )
    started = tmp_path / "started"
    chooser = random.Random(7)
    for _ in range(8):
        started.unlink(missing_ok=True)
        process = _start(script, str(weights_path), str(model_path), str(started))
        assert _wait_for(process, started), process.communicate()[1].decode()
        time.sleep(chooser.uniform(0.0, 0.15))
        assert process.poll() is None
        _kill(process)
        for path in (weights_path, model_path):
            saving.load_weights(probe, str(path))  # a partial file would raise here
            assert all(np.isfinite(w).all() for w in probe.get_weights())
