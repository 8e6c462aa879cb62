"""ModelCheckpoint: Keras 3's save decisions, messages, filepath formatting, real files."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

from gpukeras.callbacks._model_checkpoint import ModelCheckpoint

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "callback_decisions.json")
with open(FIXTURES) as _file:
    CASES = json.load(_file)["model_checkpoint"]


class FakeModel:
    """Records what would be saved: (kind, path, the epoch whose weights it holds)."""

    def __init__(self):
        self.stop_training = False
        self.current = -1
        self.saved = []

    def save(self, filepath, overwrite=True):
        self.saved.append(("model", filepath, self.current))

    def save_weights(self, filepath, overwrite=True):
        self.saved.append(("weights", filepath, self.current))


class CountingLogs(dict):
    """A dict that counts value reads (lazy logs fetch from the device on read)."""

    reads = 0

    def __getitem__(self, key):
        CountingLogs.reads += 1
        return super().__getitem__(key)

    def get(self, key, default=None):
        CountingLogs.reads += 1
        return super().get(key, default)


def run_epochs(callback, values, model=None, monitor="val_loss"):
    model = model or FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.current = epoch
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"loss": 0.0, monitor: value})
    callback.on_train_end()
    return model


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['kwargs']}-{c['values']}")
def test_decisions_match_keras(case, tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "m.h5"), **case["kwargs"])
    model = run_epochs(callback, case["values"])
    assert [epoch for _, _, epoch in model.saved] == case["expected"]["saved_epochs"]
    assert callback.best == pytest.approx(case["expected"]["best"])


def test_messages_min_mode(capsys, tmp_path):
    path = str(tmp_path / "weights.hdf5")
    run_epochs(ModelCheckpoint(path, verbose=1, save_best_only=True), [0.5, 0.6, 0.25])
    assert capsys.readouterr().out == (
        f"Epoch 1: val_loss improved from inf to 0.50000, saving model to {path}\n"
        "Epoch 2: val_loss did not improve from 0.50000\n"
        f"Epoch 3: val_loss improved from 0.50000 to 0.25000, saving model to {path}\n"
    )


def test_messages_max_mode_and_threshold(capsys, tmp_path):
    path = str(tmp_path / "m.h5")
    callback = ModelCheckpoint(path, monitor="val_accuracy", verbose=1, save_best_only=True)
    run_epochs(callback, [0.5], monitor="val_accuracy")
    callback = ModelCheckpoint(path, verbose=1, save_best_only=True, initial_value_threshold=0.3)
    run_epochs(callback, [0.4, 0.2])
    assert capsys.readouterr().out == (
        f"Epoch 1: val_accuracy improved from -inf to 0.50000, saving model to {path}\n"
        "Epoch 1: val_loss did not improve from 0.30000\n"
        f"Epoch 2: val_loss improved from 0.30000 to 0.20000, saving model to {path}\n"
    )


def test_message_without_save_best_only(capsys, tmp_path):
    path = str(tmp_path / "w.{epoch:02d}.h5")
    run_epochs(ModelCheckpoint(path, verbose=1), [1.0, 2.0])
    assert capsys.readouterr().out == (
        f"Epoch 1: saving model to {tmp_path / 'w.01.h5'}\n"
        f"Epoch 2: saving model to {tmp_path / 'w.02.h5'}\n"
    )


def test_missing_monitor_warns_and_still_saves_every_epoch(tmp_path):
    """Keras 3.15 saves an unjudged model rather than none (model_checkpoint_test's case)."""
    callback = ModelCheckpoint(
        str(tmp_path / "m.{epoch:02d}.h5"), monitor="unknown", save_best_only=True
    )
    model = FakeModel()
    callback.set_model(model)
    for epoch in range(2):
        model.current = epoch
        with pytest.warns(UserWarning, match="Can save best model only with unknown available"):
            callback.on_epoch_end(epoch, {"loss": 0.1})
    assert [(path, epoch) for _, path, epoch in model.saved] == [
        (str(tmp_path / "m.01.h5"), 0),
        (str(tmp_path / "m.02.h5"), 1),
    ]


def test_filepath_formatting(tmp_path):
    pattern = str(tmp_path / "weights.{epoch:02d}-{val_loss:.2f}.hdf5")
    model = run_epochs(ModelCheckpoint(pattern), [0.5, 0.1234])
    assert [path for _, path, _ in model.saved] == [
        str(tmp_path / "weights.01-0.50.hdf5"),
        str(tmp_path / "weights.02-0.12.hdf5"),
    ]


def test_filepath_unknown_key_is_a_key_error_naming_both(tmp_path):
    pattern = str(tmp_path / "w.{val_acc:.2f}.h5")
    callback = ModelCheckpoint(pattern)
    callback.set_model(FakeModel())
    with pytest.raises(KeyError) as info:
        callback.on_epoch_end(0, {"loss": 0.1})
    message = str(info.value)
    assert f'Failed to format this callback filepath: "{pattern}"' in message
    assert "val_acc" in message


@pytest.mark.parametrize(
    "field",
    [
        "{epoch.__class__.__init__.__globals__}",
        "{logs[0]}",
        "{epoch.real}",
        "{val_loss[x]}",
        "{epoch!r}",
        "{}",
        "{0}",
        "{loss:{epoch.__class__}}",  # hidden in a nested format spec
    ],
)
def test_filepath_fields_with_attribute_or_index_access_are_refused(tmp_path, field):
    pattern = str(tmp_path / f"w-{field}.h5")
    with pytest.raises(ValueError, match="plain names") as info:
        ModelCheckpoint(pattern)
    assert pattern in str(info.value)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("pattern", ["w-{epoch.h5", "w-}.h5"])
def test_filepath_with_unbalanced_braces_is_refused_at_construction(tmp_path, pattern):
    with pytest.raises(ValueError, match="not a valid format string"):
        ModelCheckpoint(str(tmp_path / pattern))


def test_filepath_plain_fields_nested_specs_and_escaped_braces_still_format(tmp_path):
    pattern = str(tmp_path / "{{run}}-{epoch:03d}-{val_loss:.{width}f}-{f1-score}.h5")
    callback = ModelCheckpoint(pattern)
    callback.set_model(FakeModel())
    callback.on_epoch_end(4, {"val_loss": 0.123456, "width": 3, "f1-score": 0.5})
    assert callback.model.saved[0][1] == str(tmp_path / "{run}-005-0.123-0.5.h5")


def test_filepath_without_fields_reads_no_logs(tmp_path):
    CountingLogs.reads = 0
    callback = ModelCheckpoint(str(tmp_path / "plain.h5"))
    model = FakeModel()
    callback.set_model(model)
    callback.on_epoch_end(0, CountingLogs(loss=0.1, val_loss=0.2))
    assert len(model.saved) == 1
    assert CountingLogs.reads == 0


def test_integer_save_freq_counts_batches_across_epochs(tmp_path):
    pattern = str(tmp_path / "e{epoch}-b{batch}.h5")
    callback = ModelCheckpoint(pattern, save_freq=3)
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch in range(2):
        callback.on_epoch_begin(epoch)
        for batch in range(4):
            # fit's batch logs carry a 0-based 'batch'; the file name uses 1-based.
            callback.on_train_batch_end(batch, {"batch": batch, "size": 8, "loss": 1.0})
        callback.on_epoch_end(epoch, {"loss": 1.0})
    names = [os.path.basename(path) for _, path, _ in model.saved]
    assert names == ["e1-b3.h5", "e2-b2.h5"]


def test_integer_save_freq_with_save_best_only(tmp_path, capsys):
    callback = ModelCheckpoint(
        str(tmp_path / "m.h5"), monitor="loss", save_best_only=True, save_freq=1, verbose=1
    )
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    for batch, loss in enumerate([0.9, 0.8, 0.85, 0.7]):
        model.current = batch
        callback.on_train_batch_end(batch, {"batch": batch, "size": 8, "loss": loss})
    assert [epoch for _, _, epoch in model.saved] == [0, 1, 3]
    assert "loss did not improve from 0.80000" in capsys.readouterr().out


def test_creates_folder_only_when_saving(tmp_path):
    folder = tmp_path / "new" / "sub"
    callback = ModelCheckpoint(str(folder / "m.h5"), save_best_only=True)
    model = FakeModel()
    callback.set_model(model)
    callback.on_epoch_end(0, {"val_loss": 1.0})
    assert folder.is_dir()
    other = tmp_path / "never"
    callback = ModelCheckpoint(
        str(other / "m.h5"), save_best_only=True, initial_value_threshold=0.5
    )
    callback.set_model(model)
    callback.on_epoch_end(0, {"val_loss": 1.0})  # no improvement on the threshold: no save
    assert not other.exists()


def test_best_is_kept_between_fits(tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "m.h5"), save_best_only=True)
    first = run_epochs(callback, [0.5, 0.4])
    second = run_epochs(callback, [0.45, 0.3])
    assert [epoch for _, _, epoch in first.saved] == [0, 1]
    # 0.45 does not beat the first fit's 0.4.
    assert [epoch for _, _, epoch in second.saved] == [1]


def test_save_weights_only_calls_save_weights(tmp_path):
    model = run_epochs(ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True), [1])
    assert model.saved[0][0] == "weights"


@pytest.mark.parametrize(
    "name, weights_only",
    [("m.txt", False), ("m.weights", True), ("m.keras", True), ("m", False)],
)
def test_bad_suffix_is_rejected(tmp_path, name, weights_only):
    with pytest.raises(ValueError, match="filepath must end in"):
        ModelCheckpoint(str(tmp_path / name), save_weights_only=weights_only)


@pytest.mark.parametrize("name", ["m.h5", "m.hdf5", "m.keras", "m.weights.h5"])
def test_accepted_model_suffixes(tmp_path, name):
    ModelCheckpoint(str(tmp_path / name))


@pytest.mark.parametrize("save_freq", ["batch", 0, -2, 1.5, True])
def test_bad_save_freq(tmp_path, save_freq):
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint(str(tmp_path / "m.h5"), save_freq=save_freq)


def test_unknown_mode_warns(tmp_path):
    with pytest.warns(UserWarning, match="ModelCheckpoint mode 'best' is unknown"):
        callback = ModelCheckpoint(str(tmp_path / "m.h5"), mode="best")
    assert callback.mode == "auto"


def test_existing_directory_as_filepath(tmp_path):
    callback = ModelCheckpoint(str(tmp_path / "dir.h5"))
    (tmp_path / "dir.h5").mkdir()
    callback.set_model(FakeModel())
    with pytest.raises(OSError, match="non-directory filepath"):
        callback.on_epoch_end(0, {"val_loss": 1.0})


# -- with the real model and files ---------------------------------------------------
def _seed_model():
    from gpukeras.layers import Activation, Dense
    from gpukeras.models import Sequential

    model = Sequential()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model.add(Dense(10, input_dim=784, init="uniform"))
    model.add(Activation("softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    return model


def test_seed_example_writes_the_best_model(tmp_path, capsys, backend_name):
    from gpukeras.callbacks import Callback

    rng = np.random.default_rng(0)
    x_train = rng.random((64, 784), dtype=np.float32)
    y_train = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    x_test, y_test = x_train[:16], y_train[:16]
    path = str(tmp_path / "weights.hdf5")
    model = _seed_model()
    best = {}

    class Track(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if "val_loss" not in best or logs["val_loss"] < best["val_loss"]:
                best.update(val_loss=logs["val_loss"], weights=self.model.get_weights())

    checkpointer = ModelCheckpoint(filepath=path, verbose=1, save_best_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model.fit(
            x_train,
            y_train,
            batch_size=16,
            nb_epoch=4,
            verbose=0,
            validation_data=(x_test, y_test),
            callbacks=[Track(), checkpointer],
        )
    out = capsys.readouterr().out
    assert out.startswith("Epoch 1: val_loss improved from inf to ")
    assert out.count("saving model to " + path) >= 1
    assert os.path.isfile(path)
    restored = _seed_model()
    restored.load_weights(path)
    for loaded, expected in zip(restored.get_weights(), best["weights"], strict=True):
        np.testing.assert_array_equal(loaded, expected)


def test_keras_suffix_saves_a_keras_archive(tmp_path, backend_name):
    model = _seed_model()
    callback = ModelCheckpoint(str(tmp_path / "m.keras"))
    callback.set_model(model)
    callback.on_epoch_end(0, {"val_loss": 1.0})
    restored = _seed_model()
    restored.load_weights(str(tmp_path / "m.keras"))
    for loaded, expected in zip(restored.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, expected)
