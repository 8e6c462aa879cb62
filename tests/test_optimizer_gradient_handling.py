"""What an optimizer does to the gradients around the update: Keras's gradient accumulation,
static loss scaling, ``overwrite_with_gradient`` variables and ``_clip_gradients``."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras
from gpukeras import backend as K
from gpukeras import ops, optimizers
from gpukeras.variables import Variable


def _host(x):
    return np.asarray(K.to_host(getattr(x, "value", x)))


def test_accumulation_applies_the_mean_gradient_every_n_calls(xp):
    variable = Variable(xp.asarray([1.0, 2.0], dtype="float32"), "w")
    optimizer = optimizers.SGD(learning_rate=1.0, gradient_accumulation_steps=3)
    grads = [xp.asarray(g, dtype="float32") for g in ([1.0, 1.0], [2.0, 0.0], [3.0, 2.0])]
    for i, grad in enumerate(grads[:2]):
        optimizer.apply([grad], [variable])
        np.testing.assert_array_equal(_host(variable), [1.0, 2.0])
        assert optimizer._iterations == i + 1 and optimizer.iterations == 0
    np.testing.assert_allclose(_host(optimizer._accumulated_gradients[0]), [3.0, 1.0])
    optimizer.apply([grads[2]], [variable])
    np.testing.assert_allclose(_host(variable), [-1.0, 1.0])
    np.testing.assert_array_equal(_host(optimizer._accumulated_gradients[0]), [0.0, 0.0])
    assert optimizer.iterations == 1


@pytest.mark.parametrize("name", ["adam", "sgd", "adamw", "rmsprop", "adagrad", "nadam"])
def test_accumulating_with_weight_decay_matches_one_step_on_the_mean(xp, name):
    rng = np.random.default_rng(0)
    config = {"weight_decay": 0.05}
    plain = optimizers.get({"class_name": name, "config": config})
    accumulating = optimizers.get(
        {"class_name": name, "config": {**config, "gradient_accumulation_steps": 3}}
    )
    a = Variable(xp.asarray([[0.9], [0.5]], dtype="float32"), "a")
    b = Variable(xp.asarray([[0.9], [0.5]], dtype="float32"), "b")
    for _ in range(4):
        grads = rng.random((3, 2, 1)).astype("float32")
        plain.apply([xp.asarray(grads.mean(axis=0))], [a])
        for grad in grads:
            accumulating.apply([xp.asarray(grad)], [b])
    np.testing.assert_allclose(_host(a), _host(b), rtol=1e-5, atol=1e-6)


def test_accumulation_steps_below_two_are_refused():
    with pytest.raises(ValueError, match="gradient_accumulation_steps=1"):
        optimizers.Adam(gradient_accumulation_steps=1)


def test_accumulation_reads_nothing_from_the_device(xp):
    variable = Variable(xp.ones(4, dtype="float32"), "w")
    variable.grad = xp.ones(4, dtype="float32")
    optimizer = optimizers.Adam(gradient_accumulation_steps=2, clipnorm=1.0)
    before = K.host_syncs()
    for _ in range(4):
        optimizer.apply([variable])
    assert K.host_syncs() == before


def test_loss_scale_factor_scales_the_loss_and_unscales_the_gradients(xp):
    variable = Variable(xp.asarray([[1.0, 2.0], [3.0, 4.0]], dtype="float32"), "w")
    optimizer = optimizers.SGD(learning_rate=1.0, loss_scale_factor=1024.0)
    optimizer.apply([variable.value * 1024.0], [variable])
    assert optimizer.scale_loss(1.0) == 1024.0
    np.testing.assert_array_equal(_host(variable), np.zeros((2, 2)))
    assert optimizer.get_config()["loss_scale_factor"] == 1024.0


def test_a_variable_marked_overwrite_with_gradient_takes_its_gradient(xp):
    overwritten = Variable(xp.asarray([1.0, 2.0], dtype="float32"), "scale")
    overwritten.overwrite_with_gradient = True
    updated = Variable(xp.asarray([1.0, 2.0], dtype="float32"), "w")
    optimizer = optimizers.SGD(learning_rate=1.0)
    grad = xp.asarray([5.0, 1.0], dtype="float32")
    optimizer.apply([grad, grad], [overwritten, updated])
    np.testing.assert_array_equal(_host(overwritten), [5.0, 1.0])
    np.testing.assert_array_equal(_host(updated), [-4.0, 1.0])


def test_overwrite_with_gradient_under_accumulation_keeps_the_largest(xp):
    overwritten = Variable(xp.asarray([1.0, 2.0], dtype="float32"), "scale")
    overwritten.overwrite_with_gradient = True
    optimizer = optimizers.SGD(learning_rate=1.0, gradient_accumulation_steps=2)
    optimizer.apply([xp.asarray([3.0, 0.0], dtype="float32")], [overwritten])
    np.testing.assert_array_equal(_host(overwritten), [1.0, 2.0])
    optimizer.apply([xp.asarray([1.0, 4.0], dtype="float32")], [overwritten])
    np.testing.assert_array_equal(_host(overwritten), [3.0, 4.0])


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ({"clipnorm": 1.0}, [2**0.5 / 2, 2**0.5 / 2]),
        ({"clipvalue": 1.0}, [1.0, 1.0]),
        ({"global_clipnorm": 1.0}, [2**0.5 / 2, 2**0.5 / 2]),
        ({}, [100.0, 100.0]),
    ],
)
def test_clip_gradients_clips_as_the_step_does(xp, argument, expected):
    optimizer = optimizers.SGD(**argument)
    grad = xp.asarray([100.0, 100.0], dtype="float32")
    clipped = optimizer._clip_gradients([grad, None])
    np.testing.assert_allclose(_host(clipped[0]), expected, rtol=1e-6)
    assert clipped[1] is None
    np.testing.assert_array_equal(_host(grad), [100.0, 100.0])


def test_ops_array_makes_a_new_array(xp):
    source = xp.asarray([1.0, 2.0], dtype="float32")
    made = ops.array(source)
    made[0] = 5.0
    assert float(K.to_host(source)[0]) == 1.0
    assert ops.array([1.0, 2.0]).dtype == np.float32


def test_fit_with_a_static_loss_scale_trains_like_without_one(xp):
    rng = np.random.default_rng(0)
    x = rng.random((16, 3)).astype("float32")
    y = rng.random((16, 1)).astype("float32")
    weights = []
    for factor in (None, 128.0):
        K.random.seed(7)
        model = gpukeras.Sequential([gpukeras.layers.Input((3,)), gpukeras.layers.Dense(1)])
        model.compile(optimizer=optimizers.SGD(0.1, loss_scale_factor=factor), loss="mse")
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
        weights.append(_host(model.layers[0].kernel))
    np.testing.assert_allclose(weights[0], weights[1], rtol=1e-6)


def test_fit_accumulating_two_half_batches_matches_one_full_batch(xp):
    rng = np.random.default_rng(1)
    x = rng.random((16, 3)).astype("float32")
    y = rng.random((16, 1)).astype("float32")
    kernels, syncs = [], []
    for batch_size, steps in ((8, None), (4, 2)):
        K.random.seed(7)
        model = gpukeras.Sequential([gpukeras.layers.Input((3,)), gpukeras.layers.Dense(1)])
        optimizer = optimizers.SGD(0.1, gradient_accumulation_steps=steps)
        model.compile(optimizer=optimizer, loss="mse")
        before = K.host_syncs()
        model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, shuffle=False)
        syncs.append(K.host_syncs() - before)
        kernels.append(_host(model.layers[0].kernel))
        assert optimizer.iterations == 4
    np.testing.assert_allclose(kernels[0], kernels[1], rtol=1e-5)
    assert syncs[0] == syncs[1] == 2


@pytest.mark.parametrize(
    "config",
    [
        {"gradient_accumulation_steps": 2},
        {"loss_scale_factor": 64.0},
        {"gradient_accumulation_steps": 3, "loss_scale_factor": 8.0, "clipnorm": 0.5},
    ],
)
def test_accumulation_and_loss_scale_on_packed_buffers_match_per_variable_bits(xp, config):
    results = []
    for flat in (True, False):
        rng = np.random.default_rng(2)
        optimizer = optimizers.Adam(0.01, **config)
        optimizer.flat_update = flat
        variables = [
            Variable(xp.asarray(rng.random(shape), dtype="float32"), f"v{i}")
            for i, shape in enumerate([(3, 2), (4,)])
        ]
        for variable in variables:
            variable.grad = xp.zeros(variable.shape, dtype="float32")
        optimizer.build(variables)  # packs values and gradients when flat_update is on
        calls = []
        optimizer._step_each = _counting(optimizer._step_each, calls)
        for _ in range(6):
            for variable in variables:
                variable.grad[...] = xp.asarray(rng.standard_normal(variable.shape))
            optimizer.apply(variables)
        results.append([_host(v).copy() for v in variables])
        assert bool(calls) != (flat and "clipnorm" not in config)
    for packed, single in zip(*results, strict=True):
        np.testing.assert_array_equal(packed, single)


def _counting(method, calls):
    """``method``, appending to ``calls`` each time it runs."""

    def counted(*args):
        calls.append(1)
        return method(*args)

    return counted
