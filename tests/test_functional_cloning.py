"""models.clone_model: same architecture, fresh weights, for functional and Sequential."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import layers, ops

X = np.random.default_rng(3).normal(size=(6, 5)).astype("float32")


def _graph_model():
    x = keras.Input(shape=(5,), name="x")
    shared = layers.Dense(5, activation="tanh", name="shared")
    nested = keras.Sequential([keras.Input((5,)), layers.Dense(3, name="inner")], name="nested")
    merged = ops.add(shared(shared(x)), x)
    return keras.Model(x, layers.Dense(2, name="head")(nested(merged)), name="graph")


def _same_architecture(original, clone):
    assert type(clone) is type(original) and clone is not original
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in original.layers]
    assert [w.shape for w in clone.weights] == [w.shape for w in original.weights]
    assert all(a is not b for a, b in zip(clone.weights, original.weights))


def test_cloning_a_functional_model_replays_its_graph_with_fresh_weights(xp):
    original = _graph_model()
    clone = keras.models.clone_model(original)
    _same_architecture(original, clone)
    assert clone.count_params() == original.count_params()
    assert not np.allclose(clone.predict(X, verbose=0), original.predict(X, verbose=0))
    clone.set_weights(original.get_weights())
    np.testing.assert_allclose(
        clone.predict(X, verbose=0), original.predict(X, verbose=0), rtol=1e-6
    )
    shared = clone.get_layer("shared")
    assert len(shared._inbound_nodes) == 2  # still one layer called twice


def test_cloning_a_sequential_gives_a_sequential_with_fresh_weights(xp):
    original = keras.Sequential([keras.Input((5,)), layers.Dense(4), layers.Dense(1)])
    clone = keras.models.clone_model(original)
    _same_architecture(original, clone)
    clone.set_weights(original.get_weights())
    np.testing.assert_allclose(
        clone.predict(X, verbose=0), original.predict(X, verbose=0), rtol=1e-6
    )


def test_clone_function_and_input_tensors_are_used():
    original = _graph_model()
    seen = []

    def clone_function(layer):
        seen.append(layer.name)
        return type(layer).from_config(layer.get_config())

    new_input = keras.Input(shape=(5,), name="new_input")
    clone = keras.models.clone_model(
        original, input_tensors=new_input, clone_function=clone_function
    )
    assert clone.inputs == [new_input]
    assert {"shared", "head", "inner"} <= set(seen)


def test_a_subclassed_model_cannot_be_cloned():
    class Sub(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="Sequential or functional"):
        keras.models.clone_model(Sub())
