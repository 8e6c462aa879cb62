"""LearningRateScheduler: Keras 3's rates, the (epoch) fallback, bad schedules, syncs."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import optimizers
from gpukeras.callbacks import LearningRateScheduler
from tests.callbacks_support import FakeModel, tiny_data, tiny_model

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "lr_decisions.json")
with open(FIXTURES) as _file:
    _DATA = json.load(_file)
    CASES = _DATA["learning_rate_scheduler"]

# The schedules of tests/fixtures/make_lr_fixtures.py, by name.
SCHEDULES = {
    "halve": lambda epoch, lr: lr * 0.5,
    "epoch_only": lambda epoch: 0.1 / (epoch + 1),
    "step_decay": lambda epoch, lr: lr if epoch < 3 else lr * math.exp(-0.1),
    "numpy_float32": lambda epoch, lr: np.float32(0.5**epoch),
    "numpy_float64": lambda epoch, lr: np.float64(lr) * 0.9,
}


def run(callback, epochs, model):
    callback.set_model(model)
    set_lr, logged = [], []
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)
        set_lr.append(float(model.optimizer.learning_rate))
        logs = {"loss": 0.0}
        callback.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
    return set_lr, logged


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_rates_match_keras(case):
    callback = LearningRateScheduler(SCHEDULES[case["name"]])
    set_lr, logged = run(callback, len(case["set_lr"]), FakeModel(case["lr"]))
    assert set_lr == case["set_lr"]
    assert logged == case["logged_lr"]


def test_int_result_is_accepted_where_keras_refuses():
    assert _DATA["keras_int_schedule_error"].startswith("The output of the `schedule` function")
    model = FakeModel(0.01)
    run(LearningRateScheduler(lambda epoch: 1), 1, model)
    assert model.optimizer.learning_rate == 1.0


def test_zero_dim_array_result():
    xp = K.array_module()
    model = FakeModel(0.01)
    run(LearningRateScheduler(lambda epoch, lr: xp.asarray(0.25)), 1, model)
    assert model.optimizer.learning_rate == 0.25


@pytest.mark.parametrize("bad", [None, "0.1", [0.1], float("nan"), -0.1, True, np.ones(2)])
def test_non_number_result_names_the_schedule(bad):
    def my_schedule(epoch, lr):
        return bad

    callback = LearningRateScheduler(my_schedule)
    with pytest.raises(ValueError, match=r"output of the `schedule` function.*my_schedule"):
        run(callback, 1, FakeModel())


def test_type_error_inside_a_two_argument_schedule_is_not_masked():
    # Keras retries schedule(epoch) on any TypeError, hiding the real one.
    def broken(epoch, lr):
        return lr + "x"

    with pytest.raises(TypeError, match="unsupported operand"):
        run(LearningRateScheduler(broken), 1, FakeModel())


def test_callable_object_and_builtin_schedules():
    class Halver:
        def __call__(self, epoch, lr):
            return lr / 2

    model = FakeModel(0.5)
    run(LearningRateScheduler(Halver()), 2, model)
    assert model.optimizer.learning_rate == 0.125
    model = FakeModel(0.5)
    run(LearningRateScheduler(float), 1, model)  # float(epoch): no readable signature
    assert model.optimizer.learning_rate == 0.0


def test_schedule_must_be_callable():
    with pytest.raises(TypeError, match="Received: schedule=0.1"):
        LearningRateScheduler(0.1)


def test_verbose_message(capsys):
    run(LearningRateScheduler(lambda epoch: 0.5, verbose=1), 2, FakeModel())
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 1: LearningRateScheduler setting learning rate to 0.5.",
        "Epoch 2: LearningRateScheduler setting learning rate to 0.5.",
    ]


def test_schedule_object_on_optimizer_gives_keras_error():
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = FakeModel(optimizer=optimizers.SGD(learning_rate=schedule))
    with pytest.raises(TypeError, match="LearningRateSchedule.*not settable"):
        run(LearningRateScheduler(lambda epoch, lr: lr * 0.5), 1, model)


def test_fit_applies_the_rate_each_epoch_and_reads_logs_once_per_epoch():
    x, y = tiny_data()
    model = tiny_model()
    model.fit(x, y, epochs=1, verbose=0)
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return 0.1 * 0.5**epoch

    before = K.host_syncs()
    history = model.fit(
        x, y, epochs=3, batch_size=16, verbose=0, callbacks=[LearningRateScheduler(schedule)]
    )
    assert K.host_syncs() - before == 3
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert [e for e, _ in seen] == [0, 1, 2]
    assert seen[1][1] == pytest.approx(0.1)
