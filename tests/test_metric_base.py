"""The Metric base class as Keras 3's: variables tracked through attributes and sub-metrics,
and the stateless update/result/reset that leave the metric's own state alone."""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import metrics
from gpukeras.variables import Variable


class SquaredErrorSum(metrics.Metric):
    def __init__(self, name="sse"):
        super().__init__(name=name)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="int32", name="n")

    def update_state(self, y_true, y_pred):
        xp = K.array_module()
        error = (xp.asarray(y_true, dtype="float32") - xp.asarray(y_pred, dtype="float32")) ** 2
        self.total.assign(self.total.value + error.sum())
        self.count.assign(self.count.value + error.shape[0])

    def result(self):
        return self.total.value / self.count.value.astype("float32")


@pytest.mark.parametrize(
    "extra, expected",
    [
        ([Variable(0.0), Variable(1.0)], 4),
        ({"a": Variable(0.0), "b": Variable(1.0)}, 4),
        ({"a": [Variable(0.0), Variable(1.0)]}, 4),
        (SquaredErrorSum("inner"), 4),
        ([SquaredErrorSum("a"), SquaredErrorSum("b")], 6),
    ],
)
def test_variables_include_attributes_and_sub_metrics(extra, expected):
    metric = SquaredErrorSum()
    metric.extra = extra
    assert len(metric.variables) == expected
    assert metric.variables[:2] == [metric.total, metric.count]  # its own first


def test_a_variable_held_twice_counts_once():
    precision = metrics.Precision()
    assert len(precision.variables) == 2  # false_positives is also an attribute


def test_stateless_update_and_result_leave_the_state_alone(xp):
    metric = SquaredErrorSum()
    state = metric.variables
    for start in (0, 8, 16):
        y = np.arange(start, start + 8, dtype="float32")
        state = metric.stateless_update_state(state, y, y + 1.0)
    assert float(metric.total) == 0.0 and int(metric.count) == 0
    assert float(metric.stateless_result(state)) == 1.0
    assert float(metric.stateless_result([xp.ones(()) * 12, xp.ones((), "int32") * 3])) == 4.0
    metric.total.assign(state[0])
    metric.count.assign(state[1])
    assert int(metric.count) == 24 and float(metric.result()) == 1.0


def test_stateless_reset_gives_the_reset_values_without_resetting():
    metric = SquaredErrorSum()
    metric.update_state([1.0, 2.0], [0.0, 0.0])
    zeros = metric.stateless_reset_state()
    assert [float(K.to_host(v)) for v in zeros] == [0.0, 0.0]
    assert float(metric.total) == 5.0


def test_stateless_calls_need_one_value_per_variable():
    with pytest.raises(ValueError, match="Received list with length 1, but expected 2"):
        SquaredErrorSum().stateless_result([1.0])


def test_dtype_is_read_only_and_a_policy_gives_its_compute_dtype():
    from gpukeras.mixed_precision import DTypePolicy

    metric = SquaredErrorSum()
    assert metric.dtype == "float32"
    with pytest.raises(AttributeError):
        metric.dtype = "float16"
    assert metrics.Mean(dtype=DTypePolicy("mixed_float16")).dtype == "float16"
    assert metrics.Mean(dtype=np.float64).dtype == "float64"


# Keras 3.15 (JAX) results of Mean over two batches: the values below, then their first row
# doubled, with these weights (the second batch takes the first row of per-sample weights).
_VALUES = np.array([[1.0, 3.0], [5.0, 7.0], [2.0, 4.0]], dtype="float32")


@pytest.mark.parametrize(
    "weights, keras_result",
    [
        (None, 3.75),
        (np.array(2.0), 3.8333334922790527),  # a scalar weighs each batch's mean once
        (np.array([1.0, 3.0, 0.5]), 4.636363506317139),
        (np.array([[1.0], [3.0], [0.5]]), 4.636363506317139),
        (np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]]), 3.0),  # one weight per value
        (np.array([[1.0, 2.0]]), 4.166666507720947),  # broadcast over the samples
    ],
    ids=["none", "scalar", "per_sample", "per_sample_column", "per_value", "broadcast_row"],
)
def test_mean_weights_values_as_keras_does(weights, keras_result, xp):
    mean = metrics.Mean()
    mean.update_state(xp.asarray(_VALUES), sample_weight=None if weights is None else weights)
    second = None
    if weights is not None:
        second = weights if weights.ndim == 0 or weights.shape[0] == 1 else weights[:1]
    mean.update_state(xp.asarray(_VALUES[:1] * 2), sample_weight=second)
    np.testing.assert_allclose(float(K.to_host(mean.result())), keras_result, rtol=1e-6)


def test_mean_refuses_weights_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"Received: sample_weight.shape=\(2, 3\)"):
        metrics.Mean().update_state(_VALUES, sample_weight=np.ones((2, 3)))
