"""``trainable`` set on a layer or model reaches every layer it holds, as Keras 3's
``Layer.trainable`` setter does (checked against Keras 3.15: a frozen Sequential's layers
report ``trainable=False``, unfreezing the container unfreezes them all again)."""

from __future__ import annotations

import numpy as np

import gpukeras as keras
from gpukeras import layers
from gpukeras.layers import _dense


def two_dense_trunk() -> keras.Sequential:
    return keras.Sequential([layers.Dense(5, activation="relu"), layers.Dense(3)])


class TwoLayers(keras.Model):
    def __init__(self):
        super().__init__()
        self.first = layers.Dense(4)
        self.heads = [layers.Dense(2), layers.Dense(1)]

    def call(self, x):
        return self.heads[1](self.heads[0](self.first(x)))


def test_freezing_a_sequential_freezes_its_layers_and_nested_models(xp):
    inner = two_dense_trunk()
    outer = keras.Sequential([keras.Input((6,)), inner, layers.BatchNormalization()])
    outer.trainable = False
    assert [layer.trainable for layer in (inner, *inner.layers, *outer.layers)] == [False] * 5
    assert outer.trainable_weights == [] and len(outer.non_trainable_weights) == 8
    outer.trainable = True
    assert all(layer.trainable for layer in (inner, *inner.layers, *outer.layers))
    assert len(outer.trainable_weights) == 6


def test_freezing_a_subclassed_model_freezes_the_layers_in_its_attributes(xp):
    model = TwoLayers()
    model(np.ones((2, 3), "float32"))
    model.trainable = False
    assert not any(layer.trainable for layer in (model.first, *model.heads))
    assert model.trainable_weights == []


def test_a_layer_holding_its_holder_is_frozen_once_without_looping(xp):
    model = TwoLayers()
    model.first.owner = model  # a back reference, as some user layers keep
    model.trainable = False
    assert not model.first.trainable and not model.trainable
    model.trainable = True
    assert model.first.trainable and all(layer.trainable for layer in model.heads)


def test_freezing_a_wrapper_freezes_its_inner_layer(xp):
    wrapper = layers.Bidirectional(layers.LSTM(3))
    wrapper.trainable = False
    assert not wrapper.forward_layer.trainable and not wrapper.backward_layer.trainable


def test_a_frozen_nested_base_trains_no_weight_of_its_layers(xp, monkeypatch):
    base = two_dense_trunk()
    inputs = keras.Input((6,))
    model = keras.Model(inputs, layers.Dense(1)(base(inputs)))
    base.trainable = False
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    before = [np.array(w) for w in base.get_weights()]
    written = []  # the gradient buffers Dense's backward computes into
    original = _dense._into
    monkeypatch.setattr(
        _dense, "_into", lambda target, *rest: (written.append(id(target)), original(target, *rest))
    )
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for old, new in zip(before, base.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    assert [tuple(w.shape) for w in model.trainable_weights] == [(3, 1), (1,)]
    # No weight-gradient work for the frozen layers (a layer with trainable=False skips
    # that product in its backward); the head's kernel gradient is computed.
    assert id(model.layers[-1].kernel.grad) in written
    assert not {id(layer.kernel.grad) for layer in base.layers} & set(written)
