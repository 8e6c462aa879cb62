"""Mixed precision: dtype policies, float16 math with float32 weights, dynamic loss scaling."""

from __future__ import annotations

import os

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import mixed_precision, optimizers
from gpukeras.mixed_precision import LossScaleOptimizer, Policy
from gpukeras.variables import Variable


@pytest.fixture(autouse=True)
def _reset_policy():
    yield
    mixed_precision.set_global_policy(None)


def test_policy_names_and_dtypes():
    mixed = Policy("mixed_float16")
    assert (mixed.compute_dtype, mixed.variable_dtype, mixed.is_mixed) == (
        "float16",
        "float32",
        True,
    )
    assert Policy("float64").compute_dtype == Policy("float64").variable_dtype == "float64"
    assert Policy().name == "float32"
    assert repr(mixed) == '<DTypePolicy "mixed_float16">'
    assert Policy.from_config(mixed.get_config()) == mixed
    assert mixed_precision.DTypePolicy is Policy


@pytest.mark.parametrize("bad", ["float17", "mixed_float8", ""])
def test_unknown_policy_names_are_refused(bad):
    with pytest.raises(ValueError, match="Received: name="):
        Policy(bad)
    with pytest.raises(TypeError, match="Received: policy=3"):
        mixed_precision.set_global_policy(3)


def test_global_policy_sets_layer_dtypes_and_round_trips_in_config():
    assert mixed_precision.global_policy().name == "float32"
    mixed_precision.set_global_policy("mixed_float16")
    assert mixed_precision.global_policy() == Policy("mixed_float16")
    layer = keras.layers.Dense(3)
    assert (layer.dtype, layer.compute_dtype) == ("float32", "float16")
    config = layer.get_config()
    assert config["dtype"] == "mixed_float16"
    mixed_precision.set_global_policy(None)
    again = keras.layers.Dense.from_config(config)
    assert (again.dtype, again.compute_dtype) == ("float32", "float16")
    assert keras.layers.Dense(3).compute_dtype == "float32"


def test_mixed_dense_computes_in_float16_with_float32_weights(xp):
    layer = keras.layers.Dense(4, activation="relu", dtype="mixed_float16")
    x = xp.asarray(np.random.default_rng(0).normal(size=(5, 3)).astype("float32"))
    y = layer(x)
    assert y.dtype == np.float16
    assert layer.kernel.value.dtype == layer.kernel.grad.dtype == np.float32
    reference = np.maximum(K.to_host(x) @ layer.kernel.numpy() + layer.bias.numpy(), 0.0)
    np.testing.assert_allclose(K.to_host(y), reference, rtol=2e-3, atol=2e-3)


def _classification(seed=0, n=256):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    labels = (x[:, 0] + x[:, 1] > 0).astype("int64")
    return x, np.eye(2, dtype="float32")[labels]


def _small_model(kind):
    """Dense 16 relu -> Dense 2 softmax (float32) as a Sequential, the same functional
    chain (the fused step), or a functional graph with a skip (the tape step)."""
    hidden = keras.layers.Dense(16, activation="relu")
    head = keras.layers.Dense(2, activation="softmax", dtype="float32")
    inputs = keras.Input((8,))
    if kind == "sequential":
        return keras.Sequential([inputs, hidden, head]), hidden
    features = hidden(inputs)
    if kind == "functional graph":
        features = keras.ops.concatenate([features, keras.ops.cast(inputs, "float16")], axis=-1)
    return keras.Model(inputs, head(features)), hidden


@pytest.mark.parametrize("kind", ["sequential", "functional chain", "functional graph"])
def test_a_small_model_trains_under_mixed_float16(xp, kind):
    mixed_precision.set_global_policy("mixed_float16")
    x, y = _classification()
    model, hidden = _small_model(kind)
    model.compile(keras.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    assert isinstance(model.optimizer, LossScaleOptimizer)  # auto_scale_loss, as Keras
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] > 0.9
    assert all(w.dtype == np.float32 for w in model.get_weights())
    assert hidden.compute_dtype == "float16"


def test_auto_scale_loss_false_keeps_the_optimizer():
    mixed_precision.set_global_policy("mixed_float16")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", auto_scale_loss=False)
    assert not isinstance(model.optimizer, LossScaleOptimizer)


def _variables(xp):
    return [Variable(np.ones((3,), "float32"), "kernel"), Variable(np.zeros((2,), "float32"), "b")]


def test_loss_scaling_skips_a_step_with_inf_gradients(xp):
    optimizer = LossScaleOptimizer(keras.optimizers.SGD(0.5), initial_scale=8.0)
    variables = _variables(xp)
    grads = [xp.asarray([8.0, np.inf, 8.0], dtype="float32"), xp.zeros(2, dtype="float32")]
    before = K.host_syncs()
    optimizer.apply(grads, variables)
    assert K.host_syncs() - before == 1  # the skip decision reads one flag
    np.testing.assert_array_equal(K.to_host(variables[0].value), np.ones(3, "float32"))
    assert optimizer.dynamic_scale == 4.0 and optimizer.iterations == 0
    assert optimizer.skipped_steps == 1
    # A finite step is unscaled by the (halved) scale, then applied.
    optimizer.apply([xp.full(3, 4.0, dtype="float32"), xp.zeros(2, dtype="float32")], variables)
    np.testing.assert_array_equal(K.to_host(variables[0].value), np.full(3, 0.5, "float32"))
    assert optimizer.iterations == 1 and optimizer.step_counter == 1


def test_loss_scale_grows_after_dynamic_growth_steps(xp):
    optimizer = LossScaleOptimizer("sgd", initial_scale=2.0, dynamic_growth_steps=3)
    variables = _variables(xp)
    scales = []
    for _ in range(4):
        optimizer.apply([xp.ones(3, dtype="float32"), xp.ones(2, dtype="float32")], variables)
        scales.append(optimizer.dynamic_scale)
    assert scales == [2.0, 2.0, 4.0, 4.0]
    assert optimizer.scale_loss(1.5) == 6.0


def test_fit_with_overflowing_scale_skips_steps_then_recovers(xp):
    mixed_precision.set_global_policy("mixed_float16")
    x, y = _classification(1, n=64)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    optimizer = LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=2.0**40)
    model.compile(optimizer, "categorical_crossentropy")
    kernel = model.layers[0].kernel.numpy()
    model.fit(x[:16], y[:16], batch_size=16, epochs=1, verbose=0)  # 2**40 overflows float16
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), kernel)
    assert optimizer.skipped_steps == 1 and optimizer.dynamic_scale == 2.0**39
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert optimizer.iterations + optimizer.skipped_steps == 1 + 6 * 4
    assert optimizer.skipped_steps >= 2 and optimizer.iterations > 0  # shrank, then trained


def test_loss_scale_optimizer_state_and_config_round_trip(xp):
    optimizer = LossScaleOptimizer(keras.optimizers.RMSprop(0.01), initial_scale=4.0)
    variables = _variables(xp)
    optimizer.apply([xp.ones(3, dtype="float32"), xp.ones(2, dtype="float32")], variables)
    names = optimizer.variable_names
    assert names[:4] == ["iteration", "learning_rate", "step_counter", "dynamic_scale"]
    twin = LossScaleOptimizer.from_config(optimizer.get_config())
    twin.build(variables)
    twin.set_weights([K.to_host(v) for v in optimizer.variables])
    assert (twin.dynamic_scale, twin.step_counter, twin.iterations) == (4.0, 1, 1)
    assert twin.learning_rate == optimizer.learning_rate


def test_bad_loss_scale_arguments():
    with pytest.raises(ValueError, match="dynamic_growth_steps=0"):
        LossScaleOptimizer("sgd", dynamic_growth_steps=0)
    with pytest.raises(ValueError, match="initial_scale"):
        LossScaleOptimizer("sgd", initial_scale=-1.0)
    with pytest.raises(TypeError, match="inner_optimizer"):
        LossScaleOptimizer(LossScaleOptimizer("sgd"))


def test_enable_tf32_is_an_opt_in_switch(monkeypatch):
    monkeypatch.delenv("CUPY_TF32", raising=False)
    assert not K.tf32_enabled()
    K.enable_tf32()
    assert K.tf32_enabled() and os.environ["CUPY_TF32"] == "1"
    K.enable_tf32(False)
    assert not K.tf32_enabled() and os.environ["CUPY_TF32"] == "0"
    with pytest.raises(TypeError, match="enabled='yes'"):
        K.enable_tf32("yes")


def test_loss_scale_optimizer_state_variables_assign_and_step_statelessly(xp):
    inner = optimizers.SGD(learning_rate=0.5)
    optimizer = LossScaleOptimizer(inner, initial_scale=2.0, dynamic_growth_steps=2)
    variable = Variable(xp.asarray([1.0, 2.0], dtype="float32"), "w")
    optimizer.build([variable])
    state = [v.value for v in optimizer.variables]
    grads = [xp.asarray([4.0, 2.0], dtype="float32")]
    for _ in range(2):
        _, state = optimizer.stateless_apply(state, grads, [variable.value])
        for handle, value in zip(optimizer.variables, state, strict=True):
            handle.assign(value)
    assert optimizer.scale_loss(1.0) == 4.0 and optimizer.iterations == 2
    np.testing.assert_array_equal(K.to_host(variable.value), [1.0, 2.0])


def test_loss_scale_optimizer_never_unscales_an_overwrite_with_gradient_variable(xp):
    optimizer = LossScaleOptimizer(optimizers.SGD(learning_rate=0.5))
    variable = Variable(xp.asarray([1.0, 2.0], dtype="float32"), "amax")
    variable.overwrite_with_gradient = True
    optimizer.apply([xp.asarray([3.0, 5.0], dtype="float32")], [variable])
    np.testing.assert_array_equal(K.to_host(variable.value), [3.0, 5.0])


def test_loss_scale_optimizer_is_exported_by_optimizers_and_found_by_get():
    assert optimizers.LossScaleOptimizer is LossScaleOptimizer
    wrapped = LossScaleOptimizer(optimizers.SGD(0.5, loss_scale_factor=8.0), initial_scale=4.0)
    assert wrapped.inner_optimizer.loss_scale_factor is None  # the dynamic scale replaces it
    again = optimizers.get(optimizers.serialize(wrapped))
    assert isinstance(again, LossScaleOptimizer) and again.initial_scale == 4.0
    assert again.inner_optimizer.get_config() == wrapped.inner_optimizer.get_config()
