"""stateful=True recurrent layers (RNN of any cell, SimpleRNN, LSTM, GRU): states carried
across batches on the device, reset_states, fixed batch sizes, the sync contract."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import autodiff, layers, ops
from gpukeras import backend as K
from tests.gradcheck import numerical_gradient

RNG = np.random.default_rng(4)


# -- stateful ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RNN(layers.LSTMCell(3), return_sequences=True, stateful=True),
        lambda: layers.RNN(layers.GRUCell(3), return_sequences=True, stateful=True, unroll=True),
        lambda: layers.RNN(
            [layers.GRUCell(3), layers.SimpleRNNCell(2)], return_sequences=True, stateful=True
        ),
        lambda: layers.SimpleRNN(3, return_sequences=True, stateful=True),
        lambda: layers.LSTM(3, return_sequences=True, stateful=True),
        lambda: layers.GRU(3, return_sequences=True, stateful=True),
    ],
)
def test_a_stateful_layer_carries_its_states_until_reset(xp, make):
    x = xp.asarray(RNG.normal(size=(2, 6, 4)).astype("float32"))
    stateful = make()
    stateful(x[:, :3])
    config = {**stateful.get_config(), "stateful": False}
    config.pop("name")
    whole = type(stateful).from_config(config)
    whole(x)
    whole.set_weights(stateful.get_weights())
    expected = K.to_host(whole(x))
    stateful.reset_states()
    halves = [K.to_host(stateful(x[:, :3])), K.to_host(stateful(x[:, 3:]))]
    np.testing.assert_allclose(np.concatenate(halves, axis=1), expected, rtol=1e-5, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(K.to_host(stateful(x[:, :3])), expected[:, :3], rtol=1e-5, atol=1e-6)
    assert stateful.get_config()["stateful"] is True


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RNN(layers.GRUCell(3), stateful=True),
        lambda: layers.RNN(layers.GRUCell(3), stateful=True, unroll=True),
        lambda: layers.LSTM(3, stateful=True),
    ],
)
def test_a_stateful_layer_refuses_another_batch_size_and_an_unknown_one(xp, make):
    layer = make()
    layer(xp.zeros((4, 3, 2), dtype="float32"))
    with pytest.raises(ValueError, match=r"batch size it was built for, 4.*Received: a batch of 3"):
        layer(xp.zeros((3, 3, 2), dtype="float32"))
    with pytest.raises(ValueError, match=r"needs a fixed batch size.*input_shape=\(None, 3, 2\)"):
        make().build((None, 3, 2))


def test_a_stateful_model_trains_carrying_states_across_batches(xp):
    x = RNG.normal(size=(16, 4, 2)).astype("float32")
    y = RNG.normal(size=(16, 1)).astype("float32")
    model = keras.Sequential(
        [keras.Input((4, 2), batch_size=4), layers.LSTM(3, stateful=True), layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    carried = model.layers[0]._carried.values
    assert carried is not None and carried[0].shape == (4, 3)
    model.layers[0].reset_states()
    assert model.layers[0]._carried.values is None


@pytest.mark.parametrize("unroll", [False, True])
def test_reset_states_can_set_the_states(xp, unroll):
    layer = layers.RNN(layers.LSTMCell(2), stateful=True, unroll=unroll)
    x = xp.asarray(RNG.normal(size=(3, 4, 2)).astype("float32"))
    layer(x)
    h, c = xp.ones((3, 2), dtype="float32"), xp.full((3, 2), 0.5, dtype="float32")
    layer.reset_states([h, c])
    plain = layers.RNN(layers.LSTMCell(2), unroll=True)
    plain(x)
    plain.set_weights(layer.get_weights())
    expected = K.to_host(plain(x, initial_state=[h, c]))
    np.testing.assert_allclose(K.to_host(layer(x)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("unroll", [False, True])
def test_an_initial_state_gets_its_gradient_on_the_tape(xp, unroll):
    layer = layers.RNN(layers.GRUCell(2, dtype="float64"), unroll=unroll, dtype="float64")
    x = xp.asarray(RNG.normal(size=(2, 3, 2)))
    state = keras.Variable(RNG.normal(size=(2, 2)), dtype="float64")
    layer(x)

    def total(value):
        return ops.sum(ops.square(layer(x, initial_state=[value])))

    with autodiff.GradientTape() as tape:
        loss = total(state)
    analytic = K.to_host(tape.gradient(loss, state))
    numeric = numerical_gradient(lambda: float(K.to_host(total(state.value))), state.value)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_reset_states_of_a_layer_that_is_not_stateful_is_refused():
    with pytest.raises(AttributeError, match=r"not stateful. Received: stateful=False"):
        layers.RNN(layers.LSTMCell(2)).reset_states()


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)], stateful=True),
        lambda: layers.GRU(3, stateful=True),
    ],
)
def test_a_stateful_rnn_keeps_one_host_read_per_epoch(backend_name, make):
    x = RNG.normal(size=(16, 4, 2)).astype("float32")
    y = RNG.normal(size=(16, 1)).astype("float32")
    model = keras.Sequential([keras.Input((4, 2), batch_size=4), make(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # builds everything
    before = K.host_syncs()
    model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    assert K.host_syncs() - before == 3
