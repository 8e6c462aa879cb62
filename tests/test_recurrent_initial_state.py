"""An RNN's ``initial_state`` on the tape: the states get gradients like any other input."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import ops
from tests.gradcheck import numerical_gradient

LAYERS = {
    "SimpleRNN": lambda: keras.layers.SimpleRNN(3, dtype="float64"),
    "GRU": lambda: keras.layers.GRU(3, dtype="float64"),
    "LSTM": lambda: keras.layers.LSTM(3, dtype="float64", return_sequences=True),
}


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_gradients_reach_the_initial_states_and_match_finite_differences(xp, kind):
    layer = LAYERS[kind]()
    rng = np.random.default_rng(4)
    x = K.to_device(rng.standard_normal((2, 4, 5)), "float64")
    count = 2 if kind == "LSTM" else 1
    states = [K.to_device(rng.standard_normal((2, 3)), "float64") for _ in range(count)]
    layer(x, initial_state=states)  # build

    def loss():
        return ops.sum(ops.square(layer(x, initial_state=states)))

    with keras.GradientTape() as tape:
        tape.watch(states)
        value = loss()
    grads = tape.gradient(value, states)
    for state, grad in zip(states, grads):
        expected = numerical_gradient(lambda: float(K.to_host(loss())), state)
        np.testing.assert_allclose(K.to_host(grad), expected, rtol=1e-6, atol=1e-8)


def test_a_decoder_started_from_encoder_states_trains(xp):
    class EncoderDecoder(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = keras.layers.LSTM(4, return_state=True)
            self.decoder = keras.layers.LSTM(4)
            self.head = keras.layers.Dense(1)

        def call(self, x):
            _, h, c = self.encoder(x)
            return self.head(self.decoder(x, initial_state=[h, c]))

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 5, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32")
    model = EncoderDecoder()
    model.compile(keras.optimizers.Adam(0.02), "mse")
    losses = model.fit(x, y, batch_size=8, epochs=8, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    encoder_kernel = model.encoder.trainable_weights[0]
    before = np.array(K.to_host(encoder_kernel.value))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not np.array_equal(before, K.to_host(encoder_kernel.value))  # reached via states
