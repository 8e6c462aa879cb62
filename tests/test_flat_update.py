"""The flat-buffer optimizer step: one kernel call per step, same numbers as one per variable."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import optimizers
from gpukeras.variables import Variable

CONFIGS = [
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "global_clipnorm": 1.0}),
    ("adam", {"amsgrad": True, "clipvalue": 0.1, "weight_decay": 0.01}),
    ("adamw", {}),
    ("nadam", {}),
    ("adamax", {"use_ema": True, "ema_overwrite_frequency": 2}),
    ("adagrad", {}),
    ("adadelta", {"learning_rate": 1.0}),
]


def _variables(xp, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(6, 5), (5,), (5, 3), (3,)]
    made = []
    for i, shape in enumerate(shapes):
        variable = Variable(rng.normal(size=shape).astype("float32"), f"w{i}", path=f"l/w{i}")
        variable.grad = xp.zeros(shape, dtype="float32")
        made.append(variable)
    return made


def _counting(optimizer):
    """Count the update kernel's calls."""
    calls = []
    make_op = optimizer._update_op

    def counted():
        op = make_op()
        return lambda *args: (calls.append(args[0].size), op(*args))

    optimizer._update_op = counted
    return calls


def _train(identifier, kwargs, flat, steps=4):
    optimizer = optimizers.get({"class_name": identifier, "config": kwargs})
    optimizer.flat_update = flat
    variables = _variables(K.array_module())
    calls = _counting(optimizer)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        for variable in variables:
            variable.grad[...] = K.to_device(rng.normal(size=variable.shape).astype("float32"))
        optimizer.apply(variables)
    return (
        [K.to_host(v.value) for v in variables],
        [K.to_host(s) for s in optimizer.variables],
        calls,
    )


@pytest.mark.parametrize(("identifier", "kwargs"), CONFIGS)
def test_flat_steps_match_per_variable_steps_bit_for_bit(xp, identifier, kwargs):
    flat_values, flat_state, flat_calls = _train(identifier, kwargs, flat=True)
    each_values, each_state, each_calls = _train(identifier, kwargs, flat=False)
    for a, b in zip(flat_values + flat_state, each_values + each_state, strict=True):
        np.testing.assert_array_equal(a, b)
    total = sum(size for size in each_calls[:4])
    # The first step runs per variable (the pairs predate the packing); then one call a step.
    assert flat_calls[4:] == [total] * 3
    assert len(each_calls) == 4 * 4


def test_weight_decay_exclusions_fall_back_to_one_call_per_variable(xp):
    optimizer = optimizers.AdamW(weight_decay=0.1)
    variables = _variables(xp)
    optimizer.exclude_from_weight_decay(var_names=["w1"])
    calls = _counting(optimizer)
    for _ in range(3):
        optimizer.apply(variables)
    assert len(calls) == 3 * len(variables)


def test_clipnorm_is_per_variable_so_steps_are_too(xp):
    optimizer = optimizers.SGD(0.1, clipnorm=0.5)
    variables = _variables(xp)
    calls = _counting(optimizer)
    optimizer.apply(variables)
    optimizer.apply(variables)
    assert len(calls) == 2 * len(variables)


def test_packing_keeps_values_and_points_variables_at_views(xp):
    variables = _variables(xp)
    before = [K.to_host(v.value).copy() for v in variables]
    optimizer = optimizers.SGD(0.0)
    optimizer.build(variables)
    flat = optimizer._flat
    assert flat is not None and flat.values.size == sum(v.value.size for v in variables)
    for variable, value in zip(variables, before, strict=True):
        np.testing.assert_array_equal(K.to_host(variable.value), value)
        assert variable.value.base is flat.values or variable.value.base is flat.values.base


def test_a_detached_variable_is_still_updated(xp):
    optimizer = optimizers.SGD(1.0)
    variables = _variables(xp)
    calls = _counting(optimizer)
    optimizer.apply(variables)
    variables[0].value = xp.zeros((6, 5), dtype="float32")  # someone replaced the array
    variables[0].grad = xp.ones((6, 5), dtype="float32")
    optimizer.apply(variables)
    np.testing.assert_array_equal(K.to_host(variables[0].value), -np.ones((6, 5)))
    assert len(calls) == 2 * len(variables)  # it noticed, and went variable by variable


@pytest.mark.parametrize(
    "why", ["mixed dtypes", "missing gradient", "the same variable twice", "empty"]
)
def test_variables_that_cannot_share_a_buffer_are_left_alone(xp, why):
    variables = _variables(xp)
    if why == "mixed dtypes":
        variables.append(Variable(np.zeros(2, "float64"), "d"))
        variables[-1].grad = xp.zeros(2, dtype="float64")
    elif why == "missing gradient":
        variables[1].grad = None
    elif why == "the same variable twice":
        variables.append(variables[0])
    elif why == "empty":
        variables = []
    values = [v.value for v in variables]
    optimizer = optimizers.Adam()
    optimizer.build(variables)
    assert optimizer._flat is None
    assert all(v.value is value for v, value in zip(variables, values, strict=True))


def test_fit_trains_the_same_with_and_without_flat_buffers(xp):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 64)]
    weights = []
    for flat in (True, False):
        keras.utils.set_random_seed(5)
        model = keras.Sequential(
            [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)]
        )
        optimizer = optimizers.RMSprop(0.01)
        optimizer.flat_update = flat
        model.compile(optimizer, keras.losses.CategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        assert (model.optimizer._flat is not None) == flat
        weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_loss_scaling_keeps_the_flat_step_and_leaves_callers_gradients_alone(xp):
    inner = optimizers.SGD(0.5)
    optimizer = keras.mixed_precision.LossScaleOptimizer(inner, initial_scale=4.0)
    variables = _variables(xp)
    start = [K.to_host(v.value).copy() for v in variables]
    calls = _counting(inner)
    for _ in range(2):
        for variable in variables:
            variable.grad[...] = 4.0  # the training step's scaled gradient buffers
        optimizer.apply(variables)
    assert calls[len(variables) :] == [sum(v.value.size for v in variables)]
    for variable, before in zip(variables, start, strict=True):
        expected = (before - np.float32(0.5)) - np.float32(0.5)  # two float32 steps
        np.testing.assert_array_equal(K.to_host(variable.value), expected)
    mine = [xp.full(v.shape, 4.0, dtype="float32") for v in variables]
    optimizer.apply(mine, variables)
    assert all(float(K.to_host(g).min()) == 4.0 for g in mine)
