"""Embedding: lookups, scatter-add gradients, mask_zero, Keras parity, bad token ids."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import layers, models, regularizers
from gpukeras.layers._serialization import deserialize, serialize
from tests.gradcheck import numerical_gradient

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TOKENS = np.array([[1, 4, 4, 0], [2, 0, 1, 1]])


def test_lookup_returns_table_rows(xp):
    layer = layers.Embedding(5, 3)
    out = layer(TOKENS)
    table = layer.get_weights()[0]
    np.testing.assert_array_equal(K.to_host(out), table[TOKENS])
    assert out.shape == (2, 4, 3)
    assert layer.compute_output_shape((None, 4)) == (None, 4, 3)
    assert layer.weights[0].name == "embeddings"


def test_default_initializer_is_uniform_005(xp):
    layer = layers.Embedding(200, 50)
    layer.ensure_built((None, 3))
    values = layer.get_weights()[0]
    assert values.min() >= -0.05 and values.max() <= 0.05 and values.std() > 0.02


def test_float_ids_from_the_fit_loop_are_accepted(xp):
    layer = layers.Embedding(5, 2)
    out = layer(TOKENS.astype("float32"))
    np.testing.assert_array_equal(K.to_host(out), layer.get_weights()[0][TOKENS])


def test_gradient_scatter_adds_repeated_ids(xp):
    layer = layers.Embedding(5, 3, dtype="float64", embeddings_regularizer=regularizers.L2(0.1))
    x = K.to_device(TOKENS.astype("float64"))
    layer.ensure_built(x.shape)
    r = K.to_device(np.random.default_rng(3).normal(size=(2, 4, 3)))

    def total() -> float:
        y, _ = layer.forward_tracked(x, True)
        value = (y * r).sum()
        for penalty in layer.penalties():
            value = value + penalty
        return float(K.to_host(value))

    layer.forward_tracked(x, True)
    grad_x = layer.backward_with_penalties(r)
    analytic = K.to_host(layer.embeddings.grad).copy()
    np.testing.assert_allclose(
        analytic, numerical_gradient(total, layer.embeddings.value), atol=1e-7
    )
    np.testing.assert_array_equal(K.to_host(grad_x), np.zeros(TOKENS.shape))
    # Row 3 is never looked up: only the regularizer's gradient reaches it.
    np.testing.assert_allclose(analytic[3], 0.2 * K.to_host(layer.embeddings.value)[3])


def test_mask_zero_produces_the_padding_mask(xp):
    layer = layers.Embedding(5, 2, mask_zero=True)
    x = K.to_device(TOKENS.astype("float32"))
    layer.ensure_built(x.shape)
    _, mask = layer.forward_tracked(x, False)
    np.testing.assert_array_equal(K.to_host(mask), TOKENS != 0)
    plain = layers.Embedding(5, 2)
    plain.ensure_built(x.shape)
    assert plain.forward_tracked(x, False)[1] is None


def test_matches_keras_table_lookup(xp):
    with np.load(os.path.join(FIXTURES, "recurrent_layers.npz")) as data:
        table, tokens = data["model/w0"], data["model/tokens"]
    layer = layers.Embedding(table.shape[0], table.shape[1], weights=[table])
    np.testing.assert_array_equal(K.to_host(layer(tokens)), table[tokens])


@pytest.mark.parametrize(
    "ids, match",
    [
        (np.array([[1.0, 2.5]]), "whole-number"),
        (np.array([[1, 5]]), r"\[0, 5\)"),
        (np.array([[-1, 2]]), r"\[0, 5\)"),
        (np.array([["a", "b"]]), "integer token ids"),
        (np.array([[np.nan, 1.0]]), "whole-number"),
    ],
)
def test_bad_token_ids_are_clear_errors(xp, ids, match):
    layer = layers.Embedding(5, 2)
    with pytest.raises((ValueError, TypeError), match=match):
        layer(ids)


@pytest.mark.numpy_only("device inputs are not checked (it would cost a sync per batch)")
def test_bad_ids_in_fit_are_caught_on_the_host():
    model = models.Sequential([layers.Input((2,)), layers.Embedding(5, 2), layers.Flatten()])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="input_dim"):
        model.fit(np.array([[1, 7]]), np.zeros((1, 4)), verbose=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_dim": 0, "output_dim": 2}, "input_dim"),
        ({"input_dim": 5, "output_dim": -1}, "output_dim"),
        ({"input_dim": 5.0, "output_dim": 2}, "input_dim"),
        ({"input_dim": 5}, "output_dim"),
    ],
)
def test_bad_dimensions_name_the_argument(xp, kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Embedding(**kwargs)


def test_legacy_input_length_sets_the_input_shape(xp):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = layers.Embedding(5, 2, input_length=4)
    assert any("input_length" in str(w.message) for w in caught)
    model = models.Sequential([layer, layers.Flatten()])
    assert model.output_shape == (None, 8)


def test_config_round_trip(xp):
    layer = layers.Embedding(7, 3, mask_zero=True, embeddings_initializer="he_normal")
    config = layer.get_config()
    assert config["mask_zero"] is True and config["input_dim"] == 7
    assert config["embeddings_initializer"]["class_name"] == "HeNormal"
    copy = deserialize(serialize(layer))
    assert copy.get_config() == config


def test_first_layer_skips_the_input_gradient_in_training(xp):
    layer = layers.Embedding(5, 2)
    x = K.to_device(TOKENS.astype("float32"))
    layer.ensure_built(x.shape)
    layer.forward(x)
    layer.needs_input_grad = False
    assert layer.backward(K.to_device(np.ones((2, 4, 2), dtype="float32"))) is None
