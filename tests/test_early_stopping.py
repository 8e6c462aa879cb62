"""EarlyStopping: Keras 3's decisions on scripted metric sequences, messages, warnings."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gpukeras.callbacks._early_stopping import EarlyStopping

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "callback_decisions.json")
with open(FIXTURES) as _file:
    CASES = json.load(_file)["early_stopping"]


class FakeModel:
    """Weights are the number of the epoch that produced them."""

    def __init__(self):
        self.stop_training = False
        self.current = -1

    def get_weights(self):
        return [self.current]

    def set_weights(self, weights):
        self.current = weights[0]


def run(callback, values, monitor="val_loss", model=None):
    """A fit loop in miniature: epoch ends until the callback stops training."""
    model = model or FakeModel()
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    epochs_run = 0
    for epoch, value in enumerate(values):
        model.current = epoch
        epochs_run += 1
        callback.on_epoch_end(epoch, {"loss": 0.0, monitor: value})
        if model.stop_training:
            break
    callback.on_train_end()
    return epochs_run, model


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['kwargs']}-{c['values']}")
def test_decisions_match_keras(case):
    callback = EarlyStopping(**case["kwargs"])
    epochs_run, model = run(callback, case["values"], case["kwargs"].get("monitor", "val_loss"))
    expected = case["expected"]
    assert epochs_run == expected["epochs_run"]
    assert callback.stopped_epoch == expected["stopped_epoch"]
    assert callback.best_epoch == expected["best_epoch"]
    assert callback.best == pytest.approx(expected["best"])
    assert callback.wait == expected["wait"]
    assert model.current == expected["final_weights_epoch"]


def test_flat_metric_with_patience_two_stops_at_epoch_index_two():
    epochs_run, _ = run(EarlyStopping(patience=2), [0.5] * 10)
    assert epochs_run == 3


def test_messages(capsys):
    callback = EarlyStopping(patience=1, verbose=1, restore_best_weights=True)
    run(callback, [1.0, 0.8, 0.9, 0.95, 0.7])
    assert capsys.readouterr().out == (
        "Epoch 3: early stopping\nRestoring model weights from the end of the best epoch: 2.\n"
    )


def test_restores_at_train_end_without_early_stop(capsys):
    callback = EarlyStopping(patience=5, verbose=1, restore_best_weights=True)
    epochs_run, model = run(callback, [1.0, 0.5, 0.7])
    assert epochs_run == 3 and callback.stopped_epoch == 0
    assert model.current == 1
    assert capsys.readouterr().out == (
        "Restoring model weights from the end of the best epoch: 2.\n"
    )


def test_silent_by_default(capsys):
    run(EarlyStopping(restore_best_weights=True), [1.0, 2.0, 3.0])
    assert capsys.readouterr().out == ""


def test_missing_monitor_warns_listing_keys_and_never_stops():
    callback = EarlyStopping(monitor="val_loss", patience=0)
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    with pytest.warns(UserWarning) as record:
        for epoch in range(3):
            callback.on_epoch_end(epoch, {"loss": 1.0, "accuracy": 0.5})
    assert str(record[0].message) == (
        "Early stopping conditioned on metric `val_loss` which is not available. "
        "Available metrics are: loss,accuracy"
    )
    assert not model.stop_training


def test_fresh_state_each_fit():
    callback = EarlyStopping(patience=0)
    first, _ = run(callback, [0.1, 0.2, 0.3])
    assert first == 2
    # A second fit starts from scratch: 0.5 is not compared against 0.1.
    second, _ = run(callback, [0.5, 0.4, 0.3, 0.2])
    assert second == 4
    assert callback.stopped_epoch == 0 and callback.best == pytest.approx(0.2)


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="EarlyStopping mode 'bogus' is unknown, fallback"):
        callback = EarlyStopping(mode="bogus")
    assert callback.mode == "auto"


@pytest.mark.parametrize(
    "monitor, improving",
    [
        ("val_accuracy", [0.1, 0.2, 0.3]),
        ("acc", [0.1, 0.2, 0.3]),
        ("val_auc", [0.1, 0.2, 0.3]),
        ("loss", [0.3, 0.2, 0.1]),
        ("val_mean_squared_error", [0.3, 0.2, 0.1]),
        ("val_mae", [0.3, 0.2, 0.1]),
    ],
)
def test_auto_mode_direction(monitor, improving):
    epochs_run, _ = run(EarlyStopping(monitor=monitor, patience=0), improving, monitor)
    assert epochs_run == 3
    epochs_run, _ = run(EarlyStopping(monitor=monitor, patience=0), improving[::-1], monitor)
    assert epochs_run == 2


def test_auto_mode_uses_metric_direction_from_model():
    class Metric:
        name = "custom"
        _direction = "up"

    model = FakeModel()
    model.metrics = [Metric()]
    epochs_run, _ = run(EarlyStopping(monitor="val_custom"), [1, 2, 3], "val_custom", model)
    assert epochs_run == 3


def test_auto_mode_unknown_metric_raises():
    callback = EarlyStopping(monitor="val_mystery")
    callback.set_model(FakeModel())
    callback.on_train_begin()
    with pytest.raises(ValueError, match="Pass `mode='max'`"):
        callback.on_epoch_end(0, {"val_mystery": 1.0})


def test_with_sequential_fit_stops_and_restores(backend_name):
    from gpukeras.layers import Dense
    from gpukeras.models import Sequential

    model = Sequential([Dense(1, input_dim=2)])
    model.compile(loss="mse", optimizer="sgd")
    x = np.random.rand(16, 2).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    snapshots = []

    from gpukeras.callbacks import Callback

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    # Monitoring 'loss' in max mode: epoch 0 is the best, training stops at epoch 1.
    stopper = EarlyStopping(monitor="loss", mode="max", restore_best_weights=True)
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[Snapshot(), stopper])
    assert len(history.history["loss"]) == 2
    for restored, best in zip(model.get_weights(), snapshots[0], strict=True):
        np.testing.assert_array_equal(restored, best)
