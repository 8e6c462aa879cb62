"""Every learning-rate schedule gives Keras 3's values and config (fixture from real Keras on
JAX: tests/fixtures/make_schedule_fixtures.py) and survives serialize/deserialize."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gpukeras import optimizers
from gpukeras.optimizers import schedules
from tests.fixtures import schedule_cases

with open(os.path.join(os.path.dirname(__file__), "fixtures", "schedules_keras.json")) as _f:
    KERAS = json.load(_f)
IDS = [case[0] for case in schedule_cases.CASES]


@pytest.mark.parametrize("case", schedule_cases.CASES, ids=IDS)
def test_values_match_keras(case):
    case_id, class_name, config = case
    schedule = getattr(schedules, class_name)(**config)
    values = [schedule(step) for step in schedule_cases.STEPS]
    np.testing.assert_allclose(values, KERAS[case_id]["values"], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("case", schedule_cases.CASES, ids=IDS)
def test_config_matches_keras_and_round_trips(case):
    case_id, class_name, config = case
    schedule = getattr(schedules, class_name)(**config)
    assert schedule.get_config() == KERAS[case_id]["config"]
    rebuilt = schedules.deserialize(schedules.serialize(schedule))
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()


def test_an_optimizer_follows_cosine_decay_restarts_and_saves_it():
    schedule = schedules.CosineDecayRestarts(0.1, first_decay_steps=2)
    optimizer = optimizers.SGD(learning_rate=schedule)
    clone = optimizers.SGD.from_config(optimizer.get_config())
    assert isinstance(clone._learning_rate, schedules.CosineDecayRestarts)
    assert clone._learning_rate.get_config() == schedule.get_config()


@pytest.mark.parametrize("steps", [0, -3])
def test_restarts_need_a_positive_first_period(steps):
    with pytest.raises(ValueError, match=f"Received: first_decay_steps={steps}"):
        schedules.CosineDecayRestarts(0.1, first_decay_steps=steps)
