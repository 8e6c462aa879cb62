"""Weight constraints: Keras's projections, lookup and serialization, and the optimizer
applying ``variable.constraint`` after each update (layers' ``kernel_constraint=``...)."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras
from gpukeras import backend as K
from gpukeras import constraints, layers, optimizers
from gpukeras.variables import Variable

# Columns of norm 5: easy to check by hand.
W = np.array([[3.0, -4.0], [4.0, 3.0]], dtype="float32")


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        (constraints.MaxNorm(2.0), W * 2 / 5),
        (constraints.MaxNorm(10.0), W),
        (constraints.UnitNorm(), W / 5),
        (constraints.NonNeg(), np.maximum(W, 0)),
        (constraints.MinMaxNorm(1.0, 2.0, rate=0.5), W * 3.5 / 5),
        (constraints.MaxNorm(2.0, axis=1), W * 2 / 5),
    ],
)
def test_constraints_project_like_keras(xp, constraint, expected):
    projected = constraint(xp.asarray(W))
    assert K.get_array_module(projected) is xp and projected.dtype == np.float32
    np.testing.assert_allclose(K.to_host(projected), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["max_norm", "MaxNorm", "non_neg", "unit_norm", "min_max_norm"])
def test_constraints_round_trip_through_get_and_serialize(name):
    constraint = constraints.get(name)
    config = constraints.serialize(constraint)
    assert config["module"] == "keras.constraints"
    assert constraints.deserialize(config) == constraint
    assert constraints.get(config) == constraint


def test_an_unknown_constraint_is_refused_by_name():
    with pytest.raises(ValueError, match="Unknown constraint: 'nonneg'"):
        constraints.get("nonneg")
    with pytest.raises(ValueError, match="max_value=-1"):
        constraints.MaxNorm(-1)


def test_the_optimizer_applies_a_variable_constraint_after_the_update(xp):
    variable = Variable(xp.asarray([[-0.5, 0.2], [0.3, -0.1]], dtype="float32"), "w")
    variable.constraint = constraints.NonNeg()
    optimizer = optimizers.SGD(learning_rate=1.0)
    before = K.host_syncs()
    optimizer.apply([xp.asarray([[0.0, -1.0], [0.0, 1.0]], dtype="float32")], [variable])
    assert K.host_syncs() == before
    np.testing.assert_allclose(K.to_host(variable.value), [[0.0, 1.2], [0.3, 0.0]])


def test_layer_constraints_hold_after_fit_and_survive_get_config(xp):
    rng = np.random.default_rng(0)
    x = rng.random((32, 4)).astype("float32")
    y = -10 * rng.random((32, 1)).astype("float32")
    dense = layers.Dense(3, kernel_constraint="non_neg", bias_constraint=constraints.MaxNorm(0.1))
    model = gpukeras.Sequential([layers.Input((4,)), dense, layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    assert K.to_host(dense.kernel.value).min() >= 0.0
    assert np.linalg.norm(K.to_host(dense.bias.value)) <= 0.1 + 1e-6
    clone = layers.Dense.from_config(dense.get_config())
    assert clone.kernel_constraint == constraints.NonNeg()
    assert clone.bias_constraint == constraints.MaxNorm(0.1)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_every_recurrent_weight_carries_its_constraint(kind):
    layer = getattr(layers, kind)(
        3,
        kernel_constraint="non_neg",
        recurrent_constraint=constraints.UnitNorm(),
        bias_constraint=constraints.MaxNorm(0.5),
    )
    layer.build((None, 4, 2))
    assert layer.kernel.constraint == constraints.NonNeg()
    assert layer.recurrent_kernel.constraint == constraints.UnitNorm()
    assert layer.bias.constraint == constraints.MaxNorm(0.5)
