"""The fit loop's promises: logs contents, hook order, stop_training, host syncs."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras.callbacks import Callback, Logs


def _data(n=40, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]
    return x, y


def _model(features=6, classes=3, metrics=("accuracy",)):
    model = keras.Sequential(
        [
            keras.layers.Dense(8, activation="relu", input_dim=features),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=list(metrics))
    return model


class Recorder(Callback):
    """Records every hook with a copy of its logs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(self, name, *args):
        logs = args[-1]
        self.calls.append((name, *args[:-1], None if logs is None else dict(logs)))

    def on_train_begin(self, logs=None):
        self._record("train_begin", logs)

    def on_train_end(self, logs=None):
        self._record("train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._record("epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._record("epoch_end", epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        self._record("batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._record("batch_end", batch, logs)


def test_hooks_run_in_order_with_the_documented_logs(xp):
    x, y = _data()
    recorder = Recorder()
    _model().fit(
        x,
        y,
        batch_size=16,
        epochs=2,
        verbose=0,
        callbacks=[recorder],
        validation_data=(x[:10], y[:10]),
        shuffle=False,
    )
    names = [c[0] for c in recorder.calls]
    per_epoch = ["epoch_begin"] + ["batch_begin", "batch_end"] * 3 + ["epoch_end"]
    assert names == ["train_begin", *per_epoch, *per_epoch, "train_end"]
    begin = recorder.calls[2]
    assert begin == ("batch_begin", 0, {"batch": 0, "size": 16})
    end = recorder.calls[7]
    assert end[0] == "batch_end" and end[1] == 2
    assert set(end[2]) == {"batch", "size", "loss", "accuracy"} and end[2]["size"] == 8
    epoch_logs = recorder.calls[8][2]
    assert set(epoch_logs) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(isinstance(v, float) for v in epoch_logs.values())
    assert recorder.calls[-1][1] == recorder.calls[-2][2]


def test_params_are_the_union_of_keras_2_and_3(xp):
    x, y = _data()
    recorder = Recorder()
    _model().fit(
        x, y, batch_size=16, epochs=3, verbose=0, callbacks=[recorder], validation_split=0.25
    )
    assert recorder.params == {
        "verbose": 0,
        "epochs": 3,
        "steps": 2,
        "samples": 30,
        "batch_size": 16,
        "do_validation": True,
        "metrics": ["loss", "accuracy", "val_loss", "val_accuracy"],
    }
    assert recorder.model is not None


def test_batch_loss_is_the_running_mean_and_epoch_loss_the_sample_weighted_mean(xp):
    x, y = _data(n=40)
    seen = []

    class Batches(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((logs["size"], logs["loss"]))

    model = _model()
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="categorical_crossentropy"
    )
    history = model.fit(
        x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[Batches()]
    )
    per_batch = [model.test_on_batch(x[i : i + 16], y[i : i + 16]) for i in (0, 16, 32)]
    sizes = np.array([16, 16, 8])
    running = np.cumsum(np.array(per_batch) * sizes) / np.cumsum(sizes)
    np.testing.assert_allclose([s[1] for s in seen], running, rtol=1e-5)
    np.testing.assert_allclose(history.history["loss"][0], running[-1], rtol=1e-5)


def test_no_batch_reader_costs_one_sync_per_epoch_even_with_validation(xp):
    x, y = _data(n=64)
    model = _model()
    before = K.host_syncs()
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_data=(x, y))
    assert K.host_syncs() - before == 3


def test_a_callback_reading_batch_loss_costs_one_sync_per_batch(xp):
    x, y = _data(n=64)

    class LossHistory(Callback):
        def on_train_begin(self, logs={}):
            self.losses = []

        def on_batch_end(self, batch, logs={}):
            self.losses.append(logs.get("loss"))

    model = _model()
    history = LossHistory()
    before = K.host_syncs()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[history])
    assert K.host_syncs() - before == 2 * 8 + 2
    assert len(history.losses) == 16 and all(isinstance(v, float) for v in history.losses)


def test_reading_every_batch_key_is_still_one_transfer(xp):
    x, y = _data(n=32)

    class ReadAll(Callback):
        def on_batch_end(self, batch, logs=None):
            dict(logs), logs["accuracy"], list(logs.items())

    model = _model()
    before = K.host_syncs()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[ReadAll()])
    assert K.host_syncs() - before == 4 + 1


def test_stop_training_after_a_batch_still_finishes_the_epoch(xp):
    x, y = _data(n=64)
    recorder = Recorder()

    class StopAtBatch1(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    history = _model().fit(
        x,
        y,
        batch_size=8,
        epochs=5,
        verbose=0,
        callbacks=[StopAtBatch1(), recorder],
        validation_data=(x, y),
    )
    names = [c[0] for c in recorder.calls]
    assert names.count("batch_end") == 2 and names[-2:] == ["epoch_end", "train_end"]
    assert history.epoch == [0] and "val_loss" in history.history


def test_stop_training_at_epoch_end_stops_before_the_next_epoch(xp):
    x, y = _data()

    class StopAtEpoch1(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    history = _model().fit(x, y, epochs=10, verbose=0, callbacks=[StopAtEpoch1()])
    assert history.epoch == [0, 1]


def test_history_is_returned_and_set_on_the_model(xp):
    x, y = _data()
    model = _model(metrics=["acc", "mse"])
    history = model.fit(x, y, epochs=3, verbose=0, initial_epoch=1)
    assert model.history is history and history.epoch == [1, 2]
    assert sorted(history.history) == ["acc", "loss", "mse"]
    assert all(len(v) == 2 for v in history.history.values())


def test_user_callbacks_come_before_history(xp):
    x, y = _data()
    order = []

    class Early(Callback):
        def on_epoch_end(self, epoch, logs=None):
            order.append(("user", len(self.model.history.epoch) if self.model.history else 0))

    model = _model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[Early()])
    assert order == [("user", 0)]


def test_logs_materialise_once_and_behave_like_a_dict(xp):
    vector = K.to_device(np.array([6.0, 3.0, 4.0], dtype=np.float32))
    logs = Logs(batch=0, size=3)
    logs.add_ratios(vector, [("loss", 0, 3.0), ("acc", 1, 2)])
    before = K.host_syncs()
    assert "loss" in logs and len(logs) == 4 and K.host_syncs() == before
    assert "{loss:.1f}-{acc}".format(**logs) == "2.0-0.75"
    assert K.host_syncs() == before + 1
    assert dict(logs) == {"batch": 0, "size": 3, "loss": 2.0, "acc": 0.75}
    assert json.loads(json.dumps(logs)) == dict(logs)
    assert pickle.loads(pickle.dumps(logs)) == dict(logs)
    assert logs.copy() == dict(logs) and K.host_syncs() == before + 1


def test_logs_written_by_one_callback_are_seen_by_the_next(xp):
    x, y = _data()
    seen = []

    class Writer(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["learning_rate"] = 0.5

    class Reader(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs.get("learning_rate"))

    history = _model().fit(x, y, epochs=2, verbose=0, callbacks=[Writer(), Reader()])
    assert seen == [0.5, 0.5] and history.history["learning_rate"] == [0.5, 0.5]


def test_predict_and_evaluate_call_their_hooks(xp):
    x, y = _data()
    calls = []

    class Hooks(Callback):
        def on_test_begin(self, logs=None):
            calls.append("test_begin")

        def on_test_end(self, logs=None):
            calls.append(("test_end", sorted(logs)))

        def on_predict_begin(self, logs=None):
            calls.append("predict_begin")

        def on_predict_batch_end(self, batch, logs=None):
            calls.append("predict_batch")

        def on_predict_end(self, logs=None):
            calls.append("predict_end")

    model = _model()
    model.evaluate(x, y, verbose=0, callbacks=[Hooks()])
    model.predict(x, batch_size=32, verbose=0, callbacks=[Hooks()])
    assert calls == [
        "test_begin",
        ("test_end", ["accuracy", "loss"]),
        "predict_begin",
        "predict_batch",
        "predict_batch",
        "predict_end",
    ]


def test_non_callback_in_callbacks_is_rejected(xp):
    x, y = _data()
    with pytest.raises(TypeError, match="Callback instances"):
        _model().fit(x, y, verbose=0, callbacks=[print])
