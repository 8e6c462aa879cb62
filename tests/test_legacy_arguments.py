"""Keras 1 layer arguments: initializer functions ``f(shape, name)`` and
``BatchNormalization(mode=, beta_init=, gamma_init=)``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpukeras as keras


def keras1_initializations():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from gpukeras import initializations  # noqa: PLC0415
    return initializations


def test_keras1_initializer_functions_return_variables_of_the_asked_scale():
    init = keras1_initializations()
    keras.utils.set_random_seed(0)
    weights = init.normal((200, 100), scale=0.01, name="w")
    assert isinstance(weights, keras.Variable) and weights.name == "w"
    assert abs(float(np.std(keras.backend.to_host(weights.value))) - 0.01) < 1e-3
    bound = float(np.abs(keras.backend.to_host(init.uniform((50, 50), scale=0.2).value)).max())
    assert 0.18 < bound <= 0.2
    np.testing.assert_array_equal(keras.backend.to_host(init.identity((3, 3), scale=2).value),
                                  2 * np.eye(3))  # fmt: skip
    q = keras.backend.to_host(init.orthogonal((4, 4), scale=1.0).value)
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)


def test_a_layer_takes_an_init_lambda_written_the_keras1_way():
    init = keras1_initializations()
    with pytest.warns(DeprecationWarning) as record:
        layer = keras.layers.SimpleRNN(
            3, recurrent_initializer=lambda shape, name: init.identity(shape, scale=1.0, name=name)
        )
    assert any("f(shape, name)" in str(w.message) and w.filename == __file__ for w in record)
    layer.build((None, 4, 2))
    np.testing.assert_array_equal(layer.get_weights()[1], np.eye(3))


def test_a_keras3_callable_initializer_is_left_alone():
    def ones(shape, dtype=None):
        return np.ones(shape, dtype=dtype)

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert keras.initializers.get(ones) is ones


def test_batch_normalization_mode_0_and_old_initializer_names_are_accepted():
    with pytest.warns(DeprecationWarning, match="`mode`") as record:
        layer = keras.layers.BatchNormalization(mode=0, axis=1, gamma_init="zeros")
    assert record[0].filename == __file__ and layer.axis == 1
    layer.build((None, 3))
    np.testing.assert_array_equal(layer.get_weights()[0], np.zeros(3))  # gamma


@pytest.mark.parametrize("mode", [1, 2])
def test_batch_normalization_modes_1_and_2_are_refused_naming_the_replacement(mode):
    with pytest.raises(ValueError, match=r"LayerNormalization.*Received: mode="):
        keras.layers.BatchNormalization(mode=mode)


def test_embedding_word_dropout_drops_whole_vocabulary_entries(xp):
    with pytest.warns(DeprecationWarning, match="`dropout`") as record:
        layer = keras.layers.Embedding(20, 4, dropout=0.5, embeddings_initializer="ones")
    assert record[0].filename == __file__
    ids = np.tile(np.arange(20), (8, 1))  # every word 8 times
    layer.build((None, 20))
    out = keras.backend.to_host(layer.forward(keras.backend.to_device(ids), training=True))
    per_word = out[:, :, 0]
    assert (per_word == per_word[0]).all()  # a word is dropped everywhere or nowhere
    assert set(np.unique(per_word)) == {0.0, 2.0}
    grad = keras.backend.to_host(layer.backward(keras.backend.to_device(np.ones_like(out))))
    assert grad.shape == ids.shape
    table_grad = keras.backend.to_host(layer.embeddings.grad)
    np.testing.assert_array_equal(table_grad[:, 0], 8 * per_word[0])
    inference = keras.backend.to_host(layer.forward(keras.backend.to_device(ids), training=False))
    assert (inference == 1.0).all()


def test_embedding_dropout_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"`dropout`.*Received: dropout=1.5"):
        keras.layers.Embedding(5, 2, dropout=1.5)
