"""Metrics: Keras 3 results (fixtures from real Keras), per-sample functions, lookup rules."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import losses, metrics

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "metrics.npz")
_DATA = np.load(FIXTURES)
META = json.loads(str(_DATA["meta"]))
CASES = META["cases"]


def host(x) -> np.ndarray:
    return np.asarray(K.to_host(x))


def fixture(case: dict, field: str) -> np.ndarray:
    return _DATA[f"{case['name']}/{field}"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_results_match_keras(case, xp):
    metric = getattr(metrics, case["class"])(**case["kwargs"])
    y_true, y_pred = xp.asarray(fixture(case, "y_true")), xp.asarray(fixture(case, "y_pred"))
    weights = xp.asarray(fixture(case, "sample_weight"))
    half = y_true.shape[0] // 2
    metric.update_state(y_true[:half], y_pred[:half])
    metric.update_state(y_true[half:], y_pred[half:])
    result = metric.result()
    assert isinstance(result, xp.ndarray) and result.shape == () and result.dtype == np.float32
    np.testing.assert_allclose(host(result), fixture(case, "result"), rtol=1e-5, atol=1e-6)
    metric.reset_state()
    metric.update_state(y_true[:half], y_pred[:half], sample_weight=weights[:half])
    metric.update_state(y_true[half:], y_pred[half:], sample_weight=weights[half:])
    np.testing.assert_allclose(
        host(metric.result()), fixture(case, "weighted_result"), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_names_and_config_match_keras(case):
    metric = getattr(metrics, case["class"])(**case["kwargs"])
    assert metric.name == case["keras_name"]
    config = metric.get_config()
    for key, value in case["config"].items():
        assert config[key] == value, key
    assert type(metric).from_config(config).get_config() == config


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fn_gives_one_value_per_sample(case, xp):
    metric = getattr(metrics, case["class"])(**case["kwargs"])
    y_true = xp.asarray(fixture(case, "y_true"))
    y_pred = xp.asarray(fixture(case, "y_pred").astype(np.float64))
    values = metric.fn(y_true, y_pred)
    assert values.shape == (y_pred.shape[0],) and values.dtype == np.float64
    np.testing.assert_allclose(host(values.mean()), fixture(case, "result"), rtol=1e-5, atol=1e-6)


RESOLUTION = [r for r in META["resolution"] if "class" in r]


@pytest.mark.parametrize(
    "row", RESOLUTION, ids=[f"{r['identifier']}-{r['y_true']}-{r['y_pred']}" for r in RESOLUTION]
)
def test_accuracy_resolution_matches_keras(row, xp):
    y_true, y_pred = xp.zeros(tuple(row["y_true"])), xp.zeros(tuple(row["y_pred"]))
    metric = metrics.get(row["identifier"], y_true=y_true, y_pred=y_pred)
    assert type(metric).__name__ == row["class"]
    assert metric.name == row["name"] == row["identifier"]
    shapes = {"y_true": tuple(row["y_true"]), "y_pred": tuple(row["y_pred"])}
    by_shape = metrics.get(row["identifier"], **shapes)
    assert type(by_shape).__name__ == row["class"]


CROSSENTROPY = [r for r in META["resolution"] if "function" in r]


@pytest.mark.parametrize(
    "row",
    CROSSENTROPY,
    ids=[f"{r['identifier']}-{r['y_true']}-{r['y_pred']}" for r in CROSSENTROPY],
)
def test_crossentropy_resolution_matches_keras(row):
    loss = losses.get(row["identifier"], y_true=tuple(row["y_true"]), y_pred=tuple(row["y_pred"]))
    assert losses.serialize(loss)["config"]["name"] == row["identifier"]
    assert loss.name == row["identifier"]
    assert type(loss) is type(losses.get(row["function"]))
    metric = metrics.get(
        row["identifier"], y_true=tuple(row["y_true"]), y_pred=tuple(row["y_pred"])
    )
    assert metric.name == row["identifier"]


def test_accuracy_resolution_from_the_loss_without_shapes():
    assert type(metrics.get("acc", loss="binary_crossentropy")) is metrics.BinaryAccuracy
    assert type(metrics.get("acc", loss=losses.BinaryCrossentropy())) is metrics.BinaryAccuracy
    sparse = metrics.get("accuracy", loss="sparse_categorical_crossentropy")
    assert type(sparse) is metrics.SparseCategoricalAccuracy
    assert type(metrics.get("accuracy", loss="mse")) is metrics.CategoricalAccuracy
    assert type(metrics.get("accuracy", y_pred=(8, 1))) is metrics.BinaryAccuracy
    assert type(metrics.get("accuracy")) is metrics.CategoricalAccuracy


@pytest.mark.parametrize("identifier", sorted(META["names"]))
def test_names_are_spelled_as_passed(identifier):
    assert metrics.get(identifier).name == META["names"][identifier] == identifier


def test_identifier_kinds(xp):
    y_true, y_pred = xp.asarray(np.eye(3)), xp.asarray(np.full((3, 3), 0.5))
    own = metrics.CategoricalAccuracy(name="my_acc")
    assert metrics.get(own) is own and own.name == "my_acc"
    assert metrics.get(losses.Huber()).name == "huber_loss"
    assert metrics.get(losses.MeanSquaredError).name == "mean_squared_error"
    assert metrics.get(metrics.BinaryAccuracy).name == "binary_accuracy"
    assert metrics.get(metrics.top_k_categorical_accuracy).name == "top_k_categorical_accuracy"
    assert metrics.get(losses.mean_absolute_error).name == "mean_absolute_error"
    assert metrics.get("logcosh").name == "logcosh"
    assert metrics.get("huber").fn(y_true, y_pred).shape == (3,)
    config = metrics.serialize(metrics.TopKCategoricalAccuracy(k=2))
    assert metrics.get(config).k == 2

    def my_metric(y_true, y_pred):
        return (y_true == y_pred).sum()

    wrapped = metrics.get(my_metric)
    assert type(wrapped) is metrics.MeanMetricWrapper and wrapped.name == "my_metric"
    assert wrapped.fn(y_true, y_pred).shape == (3,)


def test_unknown_metric_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown metric: 'foo'") as info:
        metrics.get("foo")
    assert "Received: metric='foo'" in str(info.value)
    assert "'accuracy'" in str(info.value) and "'mse'" in str(info.value)
    with pytest.raises(ValueError, match="metric=None"):
        metrics.get(None)
    with pytest.raises(TypeError, match="Received: metric=3"):
        metrics.get(3)


# ------------------------------------------------------------------ per-sample functions
def test_accuracy_functions(xp):
    probs = xp.asarray([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.3, 0.3, 0.4]])
    labels = xp.asarray([1, 2, 2])
    one_hot = xp.asarray(np.eye(3)[[1, 2, 2]])
    np.testing.assert_array_equal(
        host(metrics.sparse_categorical_accuracy(labels, probs)), [1, 0, 1]
    )
    np.testing.assert_array_equal(host(metrics.categorical_accuracy(one_hot, probs)), [1, 0, 1])
    np.testing.assert_array_equal(
        host(metrics.sparse_top_k_categorical_accuracy(labels, probs, k=2)), [1, 1, 1]
    )
    np.testing.assert_array_equal(
        host(metrics.top_k_categorical_accuracy(one_hot, probs, k=1)), [1, 0, 1]
    )
    binary = metrics.binary_accuracy(
        xp.asarray([[1.0, 0.0], [1.0, 1.0]]), xp.asarray([[0.7, 0.2], [0.4, 0.9]])
    )
    np.testing.assert_array_equal(host(binary), [1.0, 0.5])
    exact = metrics.accuracy(xp.asarray([[1.0], [2.0]]), xp.asarray([1.0, 3.0]))
    np.testing.assert_array_equal(host(exact), [1.0, 0.0])


def test_top_k_ties_count_for_the_label_and_nan_never_does(xp):
    scores = xp.asarray([[0.5, 0.5, 0.5], [np.nan, 0.1, 0.2]])
    hits = metrics.sparse_top_k_categorical_accuracy(xp.asarray([2, 0]), scores, k=1)
    np.testing.assert_array_equal(host(hits), [1.0, 0.0])


def test_accuracy_shape_errors(xp):
    with pytest.raises(ValueError, match=r"y_true has shape \(4, 10\) but y_pred has shape"):
        metrics.categorical_accuracy(xp.zeros((4, 10)), xp.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"sparse labels need shape \(4,\)"):
        metrics.sparse_categorical_accuracy(xp.zeros((4, 2)), xp.zeros((4, 3)))


# --------------------------------------------------------------------------- state
def test_state_stays_on_the_device(xp):
    metric = metrics.Mean()
    assert host(metric.result()) == 0.0
    before = K.host_syncs()
    metric.update_state(xp.asarray([1.0, 3.0, 5.0, 7.0]))
    metric.update_state(xp.asarray([[2.0, 4.0]]), sample_weight=xp.asarray([2.0]))
    result = metric.result()
    assert K.host_syncs() == before
    assert isinstance(result, xp.ndarray)
    np.testing.assert_allclose(host(result), (16.0 + 2 * 3.0) / 6.0)
    metric.reset_state()
    assert host(metric.result()) == 0.0


def test_zero_weights_give_zero_not_nan(xp):
    metric = metrics.BinaryAccuracy()
    metric.update_state(xp.asarray([[1.0]]), xp.asarray([[0.9]]), sample_weight=xp.asarray([0.0]))
    assert host(metric.result()) == 0.0


def test_bad_sample_weight_shape(xp):
    with pytest.raises(ValueError, match=r"sample_weight\.shape=\(3,\)"):
        metrics.Mean().update_state(xp.ones(4), sample_weight=xp.ones(3))


def test_cosine_similarity_metric_is_positive(xp):
    y = xp.asarray([[1.0, 2.0], [3.0, -1.0]])
    np.testing.assert_allclose(host(metrics.CosineSimilarity()(y, 2.0 * y)), 1.0, rtol=1e-6)
