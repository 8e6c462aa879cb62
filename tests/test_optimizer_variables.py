"""``optimizer.learning_rate`` and ``optimizer.iterations`` are Keras-style Variables kept on
the host: readable, assignable, float32 / int64, and free of device reads per step."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import gpukeras
from gpukeras import backend as K
from gpukeras import optimizers
from gpukeras.optimizers import schedules
from gpukeras.variables import Variable


def _variable(xp, values=(1.0, 2.0)):
    variable = Variable(xp.asarray(values, dtype="float32"), "w")
    variable.grad = xp.ones(len(values), dtype="float32")
    return variable


def test_learning_rate_is_a_float32_variable_that_reads_back_rounded(xp):
    optimizer = optimizers.SGD(learning_rate=0.01)
    rate = optimizer.learning_rate
    assert isinstance(rate, gpukeras.Variable)
    assert rate.dtype == np.float32 and rate.shape == ()
    assert rate.numpy() == np.float32(0.01) and float(rate) == float(np.float32(0.01))
    assert K.get_array_module(rate.value) is xp and rate.value.dtype == np.float32
    assert float(K.to_host(rate * 2.0)) == pytest.approx(0.02)


def test_assigning_the_learning_rate_variable_changes_the_next_step(xp):
    optimizer = optimizers.SGD(learning_rate=0.5)
    variable = _variable(xp)
    optimizer.apply([variable])
    optimizer.learning_rate.assign(0.25)
    optimizer.apply([variable])
    np.testing.assert_allclose(K.to_host(variable.value), [0.25, 1.25])
    assert optimizer.get_config()["learning_rate"] == 0.25


def test_a_held_learning_rate_handle_stays_current(xp):
    optimizer = optimizers.Adam(learning_rate=0.1)
    handle = optimizer.learning_rate
    optimizer.learning_rate = 0.5
    assert float(handle) == 0.5


def test_iterations_is_an_int64_variable_counting_steps(xp):
    optimizer = optimizers.Adam()
    variable = _variable(xp)
    assert optimizer.iterations == 0 and optimizer.iterations.dtype == np.int64
    for _ in range(3):
        optimizer.apply([variable])
    assert int(optimizer.iterations) == 3 and optimizer.iterations.value == 3
    optimizer.iterations.assign(7)
    assert optimizer.iterations == 7
    optimizer.iterations.assign_add(1)
    assert optimizer.iterations.numpy() == 8


def test_assigning_a_bad_iteration_count_names_the_argument():
    optimizer = optimizers.SGD()
    with pytest.raises(ValueError, match="iterations=-1"):
        optimizer.iterations.assign(-1)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizer.learning_rate.assign(-0.5)


def test_a_schedule_gives_the_rate_now_and_refuses_assignment(xp):
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    optimizer = optimizers.SGD(learning_rate=schedule)
    variable = _variable(xp)
    optimizer.apply([variable])
    assert optimizer.learning_rate == np.float32(0.05)
    with pytest.raises(TypeError, match="not settable"):
        optimizer.learning_rate = 0.3


def test_reading_rate_and_iterations_costs_no_device_read(xp):
    optimizer = optimizers.Adam(learning_rate=0.01)
    variable = _variable(xp)
    before = K.host_syncs()
    for _ in range(4):
        optimizer.apply([variable])
        float(optimizer.learning_rate), int(optimizer.iterations), optimizer.iterations.value
    assert K.host_syncs() == before


def test_optimizers_with_their_variables_pickle(xp):
    optimizer = optimizers.Adam(learning_rate=0.02)
    clone = pickle.loads(pickle.dumps(optimizer))
    assert clone.get_config() == optimizer.get_config()
    assert float(clone.learning_rate) == float(np.float32(0.02))


def test_optimizer_variables_are_keras_variables_over_the_live_state(xp):
    optimizer = optimizers.SGD(learning_rate=0.5, momentum=0.9)
    variable = _variable(xp)
    optimizer.apply([variable])
    state = optimizer.variables
    assert all(isinstance(v, gpukeras.Variable) for v in state)
    assert [v.name for v in state][:2] == ["iteration", "learning_rate"]
    momentum = state[2]
    momentum.assign(xp.zeros(2, dtype="float32"))
    assert optimizer.variables[2] is momentum
    np.testing.assert_array_equal(K.to_host(optimizer._state()[2][1]), [0.0, 0.0])
    state[0].assign(10)
    assert optimizer.iterations == 10


def test_stateless_apply_returns_the_step_and_leaves_the_optimizer_alone(xp):
    stateful, stateless = optimizers.Adam(0.1), optimizers.Adam(0.1)
    a, b = _variable(xp), _variable(xp)
    stateless.build([b])
    before = [K.to_host(v.value).copy() for v in stateless.variables]
    new_values, new_state = stateless.stateless_apply(
        [v.value for v in stateless.variables], [xp.ones(2, dtype="float32")], [b.value]
    )
    stateful.apply([xp.ones(2, dtype="float32")], [a])
    np.testing.assert_array_equal(K.to_host(new_values[0]), K.to_host(a.value))
    for got, want in zip(new_state, stateful.variables, strict=True):
        np.testing.assert_array_equal(K.to_host(got), K.to_host(want.value))
    np.testing.assert_array_equal(K.to_host(b.value), [1.0, 2.0])
    for now, then in zip(stateless.variables, before, strict=True):
        np.testing.assert_array_equal(K.to_host(now.value), then)


def test_stateless_apply_needs_a_built_optimizer_and_matching_state():
    optimizer = optimizers.SGD()
    with pytest.raises(ValueError, match="must be built"):
        optimizer.stateless_apply([], [], [])
    optimizer.build([Variable(np.zeros(2, "float32"), "w")])
    with pytest.raises(ValueError, match="expected 2 variables"):
        optimizer.stateless_apply([], [np.ones(2, "float32")], [np.zeros(2, "float32")])


def test_a_learning_rate_given_as_a_0d_array_is_read_once_and_a_vector_is_refused(xp):
    optimizer = optimizers.SGD(learning_rate=xp.asarray(0.05))
    assert optimizer.learning_rate == np.float32(0.05)
    with pytest.raises(ValueError, match="must be a scalar number.*shape \\(2,\\)"):
        optimizers.SGD(learning_rate=np.array([0.1, 0.2]))
