"""AUC, Precision/Recall, confusion counts, F-scores and IoUs give Keras 3's values (fixture
from real Keras on JAX: tests/fixtures/make_metrics_fixtures.py), on the device, no host reads."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import metrics
from tests.fixtures import metrics_cases

with open(os.path.join(os.path.dirname(__file__), "fixtures", "metrics_keras.json")) as _f:
    KERAS = json.load(_f)
CASES = metrics_cases.CASES
IDS = [case[0] for case in CASES]


def _assert_keras_value(actual, expected) -> None:
    """rtol 1e-6; the absolute slack scales with the largest value, since Keras derives
    false negatives as a float32 difference (``positives - tp``: -4.8e-07 for an exact 0)."""
    expected = np.asarray(expected, dtype=np.float64)
    atol = 1e-7 * max(1.0, float(np.abs(expected).max(initial=0.0)))
    actual = np.asarray(K.to_host(actual), dtype=np.float64)
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=atol)


def _batches(case):
    seed = CASES.index(case)
    return metrics_cases.make_batches(case[3], seed)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_results_after_each_batch_match_keras(case, xp):
    case_id, class_name, config, _kind, weighted = case
    metric = getattr(metrics, class_name)(**config)
    for (y_true, y_pred, weights), expected in zip(_batches(case), KERAS[case_id]["steps"]):
        assert metrics_cases.input_sum(y_true, y_pred, weights) == expected["input_sum"]
        before = K.host_syncs()
        device_weights = xp.asarray(weights) if weighted else None
        metrics_cases.update(
            metric, class_name, xp.asarray(y_true), xp.asarray(y_pred), device_weights
        )
        result = metric.result()
        assert K.host_syncs() == before, "update_state/result must not read the device"
        assert isinstance(result, xp.ndarray)
        _assert_keras_value(result, expected["result"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reset_state_starts_afresh(case, xp):
    case_id, class_name, config, _kind, weighted = case
    metric = getattr(metrics, class_name)(**config)
    batches = _batches(case)
    for y_true, y_pred, weights in reversed(batches):
        metrics_cases.update(metric, class_name, y_true, y_pred, weights if weighted else None)
    metric.reset_state()
    y_true, y_pred, weights = batches[0]
    metrics_cases.update(metric, class_name, y_true, y_pred, weights if weighted else None)
    _assert_keras_value(metric.result(), KERAS[case_id]["steps"][0]["result"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_name_and_config_match_keras(case):
    case_id, class_name, config, _kind, _weighted = case
    metric = getattr(metrics, class_name)(**config)
    keras = KERAS[case_id]
    # Keras numbers repeated names (auc_1, ...); gpukeras keeps the name it is given.
    assert metric.name == re.sub(r"_\d+$", "", keras["name"])
    ours = {k: v for k, v in metric.get_config().items() if k != "name"}
    assert ours == {k: v for k, v in keras["config"].items() if k != "name"}
    rebuilt = type(metric).from_config(metric.get_config())
    assert rebuilt.get_config() == metric.get_config()
    assert metrics.deserialize(metrics.serialize(metric)).get_config() == metric.get_config()
