"""recurrent_dropout (Keras 1's dropout_U) on SimpleRNN, LSTM and GRU: one mask per gate
and sequence on the carried state where it meets the recurrent kernel, its gradients by
finite differences (fused and plain paths, masks, go_backwards), inference untouched,
and training."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers
from tests.gradcheck import check_layer_gradients

RNG = np.random.default_rng(5)
X = RNG.normal(size=(3, 4, 2))
STEP_MASK = np.array([[1, 1, 0, 1], [1, 1, 1, 0], [1, 0, 1, 1]], dtype=bool)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def fixed_masks(layer, batch: int, seed: int = 3):
    """Keep masks (values 0 or 1 / (1 - rate)) that stay the same on every call."""
    rate, blocks = layer.recurrent_dropout, layer.gate_blocks
    keep = np.random.default_rng(seed).uniform(size=(blocks, batch, layer.units)) >= rate
    masks = K.to_device(keep / (1.0 - rate))
    layer._recurrent_masks = lambda _batch: masks
    return keep / (1.0 - rate)


def reference(layer, x, masks):
    """The recurrence written out in NumPy: gate k's product uses ``h * masks[k]``."""
    weights = [w for w in layer.get_weights()]
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None
    u, h = layer.units, np.zeros((x.shape[0], layer.units))
    c = np.zeros_like(h)
    outputs = []
    for t in range(x.shape[1]):
        xw = x[:, t] @ kernel
        blocks = [(h * masks[k]) @ recurrent[:, k * u : (k + 1) * u] for k in range(len(masks))]
        if isinstance(layer, layers.SimpleRNN):
            h = np.tanh(xw + bias + blocks[0])
        elif isinstance(layer, layers.LSTM):
            z = xw + bias + np.concatenate(blocks, axis=1)
            i, f, g, o = (z[:, k * u : (k + 1) * u] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        elif layer.reset_after:
            xz, xr, xh = (
                (xw + bias[0])[:, :u],
                (xw + bias[0])[:, u : 2 * u],
                (xw + bias[0])[:, 2 * u :],
            )
            inner = [blocks[k] + bias[1][k * u : (k + 1) * u] for k in range(3)]
            zg, rg = sigmoid(xz + inner[0]), sigmoid(xr + inner[1])
            h = zg * h + (1 - zg) * np.tanh(xh + rg * inner[2])
        else:
            xw = xw + bias
            zg = sigmoid(xw[:, :u] + blocks[0])
            rg = sigmoid(xw[:, u : 2 * u] + blocks[1])
            candidate = np.tanh(xw[:, 2 * u :] + (rg * h * masks[2]) @ recurrent[:, 2 * u :])
            h = zg * h + (1 - zg) * candidate
        outputs.append(h)
    return np.stack(outputs, axis=1)


LAYERS = {
    "SimpleRNN": lambda **kw: layers.SimpleRNN(3, **kw),
    "LSTM": lambda **kw: layers.LSTM(3, **kw),
    "GRU": lambda **kw: layers.GRU(3, **kw),
    "GRU-reset_before": lambda **kw: layers.GRU(3, reset_after=False, **kw),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_each_gate_sees_the_state_through_its_own_mask_fixed_for_the_sequence(xp, name):
    layer = LAYERS[name](recurrent_dropout=0.4, return_sequences=True, dtype="float64",
                         bias_initializer="random_normal")  # fmt: skip
    layer.ensure_built(X.shape)
    masks = fixed_masks(layer, batch=3)
    out = layer.forward(K.to_device(X), training=True)
    np.testing.assert_allclose(K.to_host(out), reference(layer, X, masks), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(LAYERS))
def test_masks_are_drawn_per_call_and_per_gate(xp, name):
    layer = LAYERS[name](recurrent_dropout=0.5, seed=2, dtype="float64")
    x = K.to_device(X)
    layer.ensure_built(x.shape)
    layer.forward(x, training=True)
    first = K.to_host(layer._recurrent_dropout.masks)
    assert first.shape == (layer.gate_blocks, 3, 3)
    assert set(np.unique(first)) == {0.0, 2.0}
    layer.forward(x, training=True)
    assert not np.array_equal(first, K.to_host(layer._recurrent_dropout.masks))


@pytest.mark.parametrize("name", list(LAYERS))
def test_inference_ignores_recurrent_dropout(xp, name):
    dropped = LAYERS[name](recurrent_dropout=0.5, return_sequences=True)
    plain = LAYERS[name](return_sequences=True)
    x = K.to_device(X.astype("float32"))
    dropped.ensure_built(x.shape)
    plain.ensure_built(x.shape)
    plain.set_weights(dropped.get_weights())
    np.testing.assert_allclose(K.to_host(dropped(x)), K.to_host(plain(x)), rtol=1e-6)
    assert dropped._recurrent_dropout is None


GRADIENT_CASES = {
    "SimpleRNN": lambda: layers.SimpleRNN(3, recurrent_dropout=0.3, return_sequences=True),
    "LSTM-fused": lambda: layers.LSTM(3, recurrent_dropout=0.3, return_sequences=True),
    "LSTM-plain": lambda: layers.LSTM(3, recurrent_dropout=0.3, activation="softsign"),
    "LSTM-backwards": lambda: layers.LSTM(3, recurrent_dropout=0.3, go_backwards=True),
    "GRU-fused": lambda: layers.GRU(3, recurrent_dropout=0.3, return_sequences=True),
    "GRU-plain": lambda: layers.GRU(3, recurrent_dropout=0.3, recurrent_activation="hard_sigmoid"),
    "GRU-reset_before": lambda: layers.GRU(3, recurrent_dropout=0.3, reset_after=False,
                                           return_sequences=True),
}  # fmt: skip


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "step-mask"])
@pytest.mark.parametrize("name", list(GRADIENT_CASES))
def test_gradients_with_recurrent_dropout_match_finite_differences(xp, name, masked):
    layer = GRADIENT_CASES[name]()
    layer = type(layer).from_config({**layer.get_config(), "dtype": "float64",
                                     "bias_initializer": "random_normal"})  # fmt: skip
    layer.ensure_built(X.shape)
    masks = fixed_masks(layer, batch=3)
    assert (masks == 0).any() and (masks != 0).any()
    if masked:
        layer.input_mask = K.to_device(STEP_MASK)
    check_layer_gradients(layer, X, training=True)


def test_dropout_U_is_keras_1s_name_for_recurrent_dropout(xp):
    with pytest.warns(DeprecationWarning, match="dropout_U.*recurrent_dropout"):
        layer = layers.LSTM(output_dim=4, dropout_W=0.2, dropout_U=0.3)
    assert (layer.dropout, layer.recurrent_dropout) == (0.2, 0.3)
    assert layer.get_config()["recurrent_dropout"] == 0.3
    with pytest.warns(DeprecationWarning, match="dropout_U"):
        assert layers.GRU(2, dropout_U=0.1).recurrent_dropout == 0.1
    with pytest.raises(ValueError, match=r"recurrent_dropout.*Received: recurrent_dropout=1.0"):
        layers.SimpleRNN(2, recurrent_dropout=1.0)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_a_model_trains_with_recurrent_dropout(backend_name, name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 3)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("float32")[:, None]
    model = keras.models.Sequential()
    model.add(getattr(layers, name)(8, recurrent_dropout=0.25, dropout=0.1, seed=1,
                                    input_shape=(6, 3)))  # fmt: skip
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.02))
    losses = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    before = K.host_syncs()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert K.host_syncs() - before == 2  # the masks add no host read per batch


def test_bidirectional_gradients_with_recurrent_dropout_match_finite_differences(xp):
    inner = layers.LSTM(3, recurrent_dropout=0.3, return_sequences=True, dtype="float64")
    layer = layers.Bidirectional(inner, dtype="float64")
    layer.ensure_built(X.shape)
    fixed_masks(layer.forward_layer, batch=3, seed=3)
    fixed_masks(layer.backward_layer, batch=3, seed=4)
    check_layer_gradients(layer, X, training=True)
