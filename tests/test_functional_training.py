"""Training a functional model with one input and one output: the fused chain, the tape."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops
from gpukeras.models._step import Step
from gpukeras.models._tape_step import TapeStep

RNG = np.random.default_rng(1)
X = RNG.normal(size=(64, 6)).astype("float32")
Y = RNG.normal(size=(64, 2)).astype("float32")
LABELS = np.eye(3, dtype="float32")[RNG.integers(0, 3, size=64)]


def _stack(seed):
    keras.utils.set_random_seed(seed)
    return [
        layers.Dense(8, activation="relu"),
        layers.Dropout(0.25),
        layers.Dense(3, activation="softmax"),
    ]


def _as_functional(stack):
    inputs = keras.Input(shape=(6,))
    x = inputs
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


def _trained(model, seed):
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    keras.utils.set_random_seed(seed)
    history = model.fit(X, LABELS, batch_size=16, epochs=2, verbose=0)
    return history.history, model.get_weights()


def test_a_functional_chain_trains_bit_identically_to_the_same_sequential(xp):
    sequential = keras.Sequential([keras.Input((6,)), *_stack(3)])
    functional = _as_functional(_stack(3))
    for a, b in zip(sequential.get_weights(), functional.get_weights()):
        assert np.array_equal(a, b)
    seq_history, seq_weights = _trained(sequential, 7)
    fun_history, fun_weights = _trained(functional, 7)
    assert type(functional._step) is Step  # the fused step, not the tape
    assert seq_history == fun_history
    for a, b in zip(seq_weights, fun_weights):
        assert np.array_equal(a, b)
    np.testing.assert_array_equal(
        sequential.predict(X, verbose=0), functional.predict(X, verbose=0)
    )


def test_a_graph_that_is_not_a_chain_trains_on_the_tape(xp):
    inputs = keras.Input(shape=(6,))
    hidden = layers.Dense(8, activation="tanh")(inputs)
    residual = ops.add(layers.Dense(8)(hidden), hidden)
    outputs = layers.Dense(2)(residual)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    first = model.evaluate(X, Y, verbose=0)
    history = model.fit(X, Y, batch_size=16, epochs=3, verbose=0)
    assert isinstance(model._step, TapeStep) and not model._fused_step_ok
    assert history.history["loss"][-1] < first


def _shared_model(shared):
    a, b = keras.Input(shape=(6,)), keras.Input(shape=(6,))
    return a, b, ops.add(shared(a), shared(b))


def test_a_shared_layer_gets_the_sum_of_its_calls_gradients(xp):
    keras.utils.set_random_seed(0)
    shared = layers.Dense(3, activation="tanh")
    a, b, out = _shared_model(shared)
    model = keras.Model([a, b], out)
    assert len(model.weights) == 2  # one layer, one set of weights
    xa, xb = K.to_device(X[:5]), K.to_device(X[5:10])
    with keras.GradientTape() as tape:
        loss = ops.sum(ops.square(model([xa, xb])))
    grads = tape.gradient(loss, shared.trainable_weights)

    kernel, bias = (K.to_host(v.value).astype("float64") for v in shared.trainable_weights)

    def numeric(k, c):
        ya = np.tanh(X[:5].astype("float64") @ k + c)
        yb = np.tanh(X[5:10].astype("float64") @ k + c)
        return np.sum((ya + yb) ** 2)

    eps = 1e-4
    expected = np.zeros_like(kernel)
    for index in np.ndindex(kernel.shape):
        up, down = kernel.copy(), kernel.copy()
        up[index] += eps
        down[index] -= eps
        expected[index] = (numeric(up, bias) - numeric(down, bias)) / (2 * eps)
    np.testing.assert_allclose(K.to_host(grads[0]), expected, rtol=2e-3, atol=2e-3)


def test_a_shared_layer_trains_like_its_unshared_twin_with_summed_gradients(xp):
    keras.utils.set_random_seed(0)
    shared = layers.Dense(2)
    a, b, out = _shared_model(shared)
    model = keras.Model([a, b], out)
    xa, xb = K.to_device(X[:8]), K.to_device(X[8:16])
    with keras.GradientTape() as tape:
        loss = ops.mean(ops.square(model([xa, xb])))
    shared_grads = tape.gradient(loss, shared.trainable_weights)
    first, second = layers.Dense(2), layers.Dense(2)
    first.ensure_built((None, 6))
    second.ensure_built((None, 6))
    first.set_weights(shared.get_weights())
    second.set_weights(shared.get_weights())
    with keras.GradientTape() as tape:
        loss = ops.mean(ops.square(ops.add(first(xa), second(xb))))
    g1 = tape.gradient(loss, first.trainable_weights + second.trainable_weights)
    for got, one, two in zip(shared_grads, g1[:2], g1[2:]):
        np.testing.assert_allclose(K.to_host(got), K.to_host(one + two), rtol=1e-5, atol=1e-6)


def test_calling_the_model_under_a_tape_reaches_every_weight(xp):
    inputs = keras.Input(shape=(6,))
    outputs = layers.Dense(2)(ops.relu(layers.Dense(4)(inputs)))
    model = keras.Model(inputs, outputs)
    with keras.GradientTape() as tape:
        loss = ops.sum(model(K.to_device(X[:4])))
    grads = tape.gradient(loss, model.trainable_weights)
    assert len(grads) == 4 and all(g is not None for g in grads)


@pytest.mark.parametrize("training", [True, False])
def test_dropout_follows_the_training_flag(xp, training):
    inputs = keras.Input(shape=(6,))
    model = keras.Model(inputs, layers.Dropout(0.5)(inputs))
    out = K.to_host(model(X, training=training))
    assert (not np.array_equal(out, X)) == training


def _graph_model():
    inputs = keras.Input(shape=(6,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    merged = ops.concatenate([hidden, layers.Dropout(0.2)(inputs)], axis=-1)
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(merged))


@pytest.mark.parametrize("kind", ["chain", "graph"])
def test_one_host_sync_per_epoch_with_validation(kind):
    model = _as_functional(_stack(0)) if kind == "chain" else _graph_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, LABELS, batch_size=16, epochs=1, verbose=0)  # builds everything
    before = K.host_syncs()
    model.fit(X, LABELS, batch_size=16, epochs=3, verbose=0, validation_data=(X, LABELS))
    assert K.host_syncs() - before == 3  # one read per epoch, validation logs included


def test_evaluate_and_predict_of_a_graph_agree_with_calling_it(xp):
    model = _graph_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    predicted = model.predict(X, batch_size=16, verbose=0)
    np.testing.assert_allclose(predicted, K.to_host(model(X)), rtol=1e-6)
    expected = -np.mean(np.sum(LABELS * np.log(np.clip(predicted, 1e-7, 1.0)), axis=-1))
    np.testing.assert_allclose(model.evaluate(X, LABELS, verbose=0), expected, rtol=1e-5)
