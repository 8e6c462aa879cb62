"""ReduceLROnPlateau: Keras 3's learning-rate sequences, messages, warnings, bad input, syncs."""

from __future__ import annotations

import json
import os
import warnings

import pytest

from gpukeras import backend as K
from gpukeras import optimizers
from gpukeras.callbacks import ReduceLROnPlateau
from tests.callbacks_support import FakeModel, tiny_data, tiny_model

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "lr_decisions.json")
with open(FIXTURES) as _file:
    CASES = json.load(_file)["reduce_lr_on_plateau"]


def run(callback, values, monitor="val_loss", model=None):
    """Epoch ends with scripted values; returns per-epoch (logged lr, lr after, wait, cooldown)."""
    model = model or FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    trace = {"logged_lr": [], "lr_after": [], "wait": [], "cooldown_counter": []}
    for epoch, value in enumerate(values):
        logs = {"loss": 0.0, monitor: value}
        callback.on_epoch_end(epoch, logs)
        trace["logged_lr"].append(logs["learning_rate"])
        trace["lr_after"].append(float(model.optimizer.learning_rate))
        trace["wait"].append(callback.wait)
        trace["cooldown_counter"].append(callback.cooldown_counter)
    return trace


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['lr']}-{c['kwargs']}")
def test_learning_rates_match_keras(case):
    callback = ReduceLROnPlateau(**case["kwargs"])
    model = FakeModel(case["lr"])
    trace = run(callback, case["values"], case["kwargs"].get("monitor", "val_loss"), model)
    expected = case["expected"]
    # Both keep the rate as float32 and compute in float64: the values agree exactly.
    assert trace["lr_after"] == expected["lr_after"]
    assert trace["logged_lr"] == expected["logged_lr"]
    assert trace["wait"] == expected["wait"]
    assert trace["cooldown_counter"] == expected["cooldown_counter"]
    assert callback.best == pytest.approx(expected["best"])


def test_verbose_message(capsys):
    callback = ReduceLROnPlateau(patience=1, factor=0.5, verbose=1)
    run(callback, [1.0, 1.0, 1.0])
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.004999999888241291.",
        "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.0024999999441206455.",
    ]


def test_no_message_at_min_lr(capsys):
    callback = ReduceLROnPlateau(patience=0, factor=0.5, min_lr=0.01, verbose=1)
    run(callback, [1.0, 1.0, 1.0])
    assert capsys.readouterr().out == ""


def test_state_resets_each_fit():
    callback = ReduceLROnPlateau(patience=1, cooldown=3)
    run(callback, [1.0, 1.0])
    assert callback.cooldown_counter == 3 and callback.best == 1.0
    callback.on_train_begin()
    assert (callback.best, callback.wait, callback.cooldown_counter) == (None, 0, 0)


def test_missing_monitor_warns_listing_keys_and_keeps_rate():
    callback = ReduceLROnPlateau(monitor="val_loss", patience=0)
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    logs = {"loss": 1.0}
    with pytest.warns(UserWarning, match="`val_loss` which is not available") as record:
        callback.on_epoch_end(0, logs)
    assert "Available metrics are: loss,learning_rate." in str(record[0].message)
    assert logs["learning_rate"] == model.optimizer.learning_rate


def test_unknown_mode_warns_and_uses_auto():
    with pytest.warns(UserWarning, match="mode 'sideways' is unknown, fallback to auto mode"):
        callback = ReduceLROnPlateau(mode="sideways")
    assert callback.mode == "auto"


def test_auto_mode_needs_a_known_metric():
    callback = ReduceLROnPlateau(monitor="val_mystery")
    with pytest.raises(ValueError, match="monitor=val_mystery.*mode='max'"):
        run(callback, [1.0], monitor="val_mystery")


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"factor": 1.0}, r"factor >= 1.0. Received: factor=1.0"),
        ({"factor": 1.5}, r"factor >= 1.0. Received: factor=1.5"),
        ({"factor": -0.5}, r"factor >= 0.*Received: factor=-0.5"),
        ({"factor": "0.1"}, r"`factor` must be a number. Received: factor='0.1'"),
        ({"patience": -1}, r"`patience` must be an integer >= 0. Received: patience=-1"),
        ({"patience": 2.5}, r"Received: patience=2.5"),
        ({"patience": True}, r"Received: patience=True"),
        ({"cooldown": -2}, r"`cooldown` must be an integer >= 0. Received: cooldown=-2"),
        ({"cooldown": "1"}, r"Received: cooldown='1'"),
        ({"min_lr": -1e-3}, r"`min_lr` must be >= 0. Received: min_lr=-0.001"),
        ({"min_delta": None}, r"`min_delta` must be a number. Received: min_delta=None"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ReduceLROnPlateau(**kwargs)


def test_keras2_epsilon_is_min_delta():
    with pytest.warns(UserWarning, match="`epsilon` argument is deprecated"):
        callback = ReduceLROnPlateau(epsilon=0.5)
    assert callback.min_delta == 0.5


def test_schedule_optimizer_cannot_be_reduced():
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = FakeModel(optimizer=optimizers.SGD(learning_rate=schedule))
    callback = ReduceLROnPlateau(patience=0)
    with pytest.raises(TypeError, match="LearningRateSchedule.*not settable"):
        run(callback, [1.0, 1.0], model=model)


def test_fit_records_learning_rate_and_reads_logs_once_per_epoch():
    x, y = tiny_data()
    model = tiny_model()
    model.fit(x, y, epochs=1, verbose=0)  # warm up: build the model and its step
    before = K.host_syncs()
    model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    baseline = K.host_syncs() - before

    model = tiny_model()
    model.fit(x, y, epochs=1, verbose=0)
    callback = ReduceLROnPlateau(monitor="loss", patience=0, min_delta=10.0, factor=0.5)
    before = K.host_syncs()
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[callback])
    assert K.host_syncs() - before == baseline == 4
    # Epoch 0 sets the best; each later epoch fails to improve by 10 and halves the rate
    # after its learning_rate entry was logged.
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.005, 0.0025])
    assert model.optimizer.learning_rate == pytest.approx(0.00125)


def test_no_warning_in_normal_fit():
    x, y = tiny_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny_model().fit(
            x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[ReduceLROnPlateau()]
        )
