"""The Dense/softmax fast path: fused kernels match the unfused code, buffers never leak."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import activations, losses
from gpukeras import backend as K
from gpukeras.backend.kernels import dense as dense_kernels

FUSED = ["linear", "relu", "sigmoid", "tanh", "softmax"]


def _data(xp, shape=(16, 12), seed=0):
    rng = np.random.default_rng(seed)
    return xp.asarray(rng.normal(size=shape).astype("float32") * 3.0)


@pytest.mark.parametrize("name", FUSED)
def test_bias_activation_forward_matches_activation(xp, name):
    z = _data(xp)
    bias = _data(xp, (12,), seed=1)
    expected = activations.get(name).forward(z + bias)
    fused = z.copy()
    dense_kernels.bias_activation_forward(fused, bias, name)
    np.testing.assert_array_equal(K.to_host(fused), K.to_host(expected))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax"])
def test_activation_backward_matches_activation(xp, name):
    z, grad = _data(xp), _data(xp, seed=2)
    activation = activations.get(name)
    y = activation.forward(z)
    expected = activation.backward(z, y, grad)
    out = xp.empty_like(y)
    scratch = xp.empty(y.shape, dtype="bool" if name == "relu" else y.dtype)
    got = dense_kernels.activation_backward(name, y, grad, out=out, scratch=scratch)
    np.testing.assert_array_equal(K.to_host(got), K.to_host(expected))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_softmax_crossentropy_matches_the_loss(xp, smoothing):
    rng = np.random.default_rng(3)
    probs = activations.softmax(_data(xp, (32, 10)))
    probs[0, 0] = 1.0  # one saturated row exercises the clip
    targets = xp.asarray(np.eye(10, dtype="float32")[rng.integers(0, 10, 32)])
    loss = losses.CategoricalCrossentropy(label_smoothing=smoothing)
    grad, term = xp.empty_like(probs), xp.empty_like(probs)
    smoothed = loss._targets(targets)
    per_sample = dense_kernels.softmax_crossentropy(probs, smoothed, 0.25, K.epsilon(), grad, term)
    np.testing.assert_array_equal(K.to_host(per_sample), K.to_host(loss.per_sample(targets, probs)))
    expected_grad = loss.fused_grad("softmax", targets, probs) * 0.25
    np.testing.assert_array_equal(K.to_host(grad), K.to_host(expected_grad))


class _Unfused(activations.ActivationFunction):
    """The same activation, but not the plain class: Dense takes the generic path."""


def _mlp(activation_for):
    return keras.Sequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(16, activation=activation_for("relu")),
            keras.layers.Dense(8, activation=activation_for("tanh")),
            keras.layers.Dense(8, activation=activation_for("sigmoid")),
            keras.layers.Dense(4, activation=activation_for("softmax")),
        ]
    )


def _unfused(name):
    base = activations.get(name)
    return _Unfused(base.name, base._forward, base._backward)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "mse"])
def test_fast_path_trains_bit_for_bit_like_the_generic_path(xp, loss):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 20)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 100)]
    weights, histories = [], []
    for activation_for in (activations.get, _unfused):
        K.random.seed(7)
        model = _mlp(activation_for)
        model.compile("rmsprop", loss, metrics=["accuracy"])
        histories.append(model.fit(x, y, batch_size=32, epochs=2, verbose=0).history)
        weights.append(model.get_weights())
    assert histories[0] == histories[1]
    for fast, generic in zip(*weights, strict=True):
        np.testing.assert_array_equal(fast, generic)


def test_layer_outputs_outside_fit_are_fresh_arrays(xp):
    layer = keras.layers.Dense(3, activation="relu")
    x = _data(xp, (4, 5))
    first = layer(x, training=True)
    kept = K.to_host(first).copy()
    second = layer(x * 2.0, training=True)
    assert first is not second
    np.testing.assert_array_equal(K.to_host(first), kept)


def test_predict_after_fit_is_not_overwritten_by_reused_buffers(xp):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 20)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 64)]
    model = _mlp(activations.get)
    model.compile("sgd", "categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert not any(layer.scratch_outputs for layer in model.layers)
    first = model.predict(x[:16], verbose=0)
    kept = first.copy()  # on NumPy, predict's result may be the layer's own output array
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    np.testing.assert_array_equal(first, kept)
    assert not np.array_equal(first, model.predict(x[:16], verbose=0))


def test_scratch_flag_is_cleared_when_a_step_fails():
    K.set_backend("numpy")
    model = _mlp(activations.get)
    model.compile("sgd", "categorical_crossentropy")
    x = np.zeros((8, 20), "float32")
    with pytest.raises(ValueError):
        model.train_on_batch(x, np.zeros((8, 4, 2), "float32"))
    assert not any(layer.scratch_outputs for layer in model.layers)


def test_a_training_step_allocates_little_beyond_its_batch():
    K.set_backend("numpy")
    rng = np.random.default_rng(6)
    x = rng.random((1024, 256), dtype=np.float32)
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 1024)]
    model = keras.Sequential(
        [
            keras.Input((256,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)
    tracemalloc.start()
    try:
        model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    activation_bytes = 128 * 256 * 4
    # Before the fast path a step allocated ~7 activation-sized arrays (peak ~970 kB).
    assert peak < activation_bytes, f"peak {peak} bytes"
