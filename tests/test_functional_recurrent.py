"""Recurrent layers in a graph: return_state outputs and initial_state from KerasTensors."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops

RNG = np.random.default_rng(5)
ENCODER_X = RNG.normal(size=(3, 5, 3)).astype("float32")
DECODER_X = RNG.normal(size=(3, 6, 2)).astype("float32")


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_an_encoders_states_start_the_decoder_and_get_gradients(xp, kind):
    rnn = getattr(layers, kind)
    encoder_in, decoder_in = keras.Input((5, 3)), keras.Input((6, 2))
    encoder = rnn(4, return_state=True)
    _, *states = encoder(encoder_in)
    decoder = rnn(4, return_sequences=True)
    head = layers.Dense(1)
    model = keras.Model([encoder_in, decoder_in], head(decoder(decoder_in, initial_state=states)))
    assert {id(t) for t in decoder._inbound_nodes[0].input_tensors} >= {id(s) for s in states}

    _, *values = encoder(ENCODER_X)
    expected = head(decoder(DECODER_X, initial_state=values))
    got = model([ENCODER_X, DECODER_X])
    np.testing.assert_allclose(K.to_host(got), K.to_host(expected), rtol=1e-5, atol=1e-6)

    with keras.GradientTape() as tape:
        loss = ops.sum(ops.square(model([K.to_device(ENCODER_X), K.to_device(DECODER_X)])))
    grads = tape.gradient(loss, encoder.trainable_weights)
    assert all(g is not None and float(K.to_host(abs(g).sum())) > 0 for g in grads)


def test_a_bidirectional_layer_in_a_graph_computes_what_it_computes_alone(xp):
    inputs = keras.Input((5, 3))
    wrapper = layers.Bidirectional(layers.LSTM(2, return_sequences=True))
    model = keras.Model(inputs, wrapper(inputs))
    assert model.output_shape == (None, 5, 4)
    np.testing.assert_allclose(
        K.to_host(model(ENCODER_X)), K.to_host(wrapper(ENCODER_X)), rtol=1e-6
    )
