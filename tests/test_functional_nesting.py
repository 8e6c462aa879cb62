"""Models inside models: nested Sequential/functional/subclassed models, freezing, losses."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops

RNG = np.random.default_rng(2)
X = RNG.normal(size=(48, 6)).astype("float32")
Y = RNG.normal(size=(48, 1)).astype("float32")


class TwoDense(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = layers.Dense(4, activation="relu")
        self.second = layers.Dense(3)

    def call(self, inputs):
        return self.second(self.first(inputs))


def _functional_base():
    inputs = keras.Input(shape=(6,))
    return keras.Model(inputs, layers.Dense(3, activation="tanh")(layers.Dense(4)(inputs)))


BASES = {
    "sequential": lambda: keras.Sequential([keras.Input((6,)), layers.Dense(4), layers.Dense(3)]),
    "functional": _functional_base,
    "subclassed": TwoDense,
}


@pytest.fixture(params=sorted(BASES))
def base(request):
    return BASES[request.param]()


def test_a_nested_model_is_one_layer_and_its_weights_are_not_duplicated(xp, base):
    inputs = keras.Input(shape=(6,))
    outputs = layers.Dense(1, name="head")(base(inputs))
    model = keras.Model(inputs, outputs)
    assert base in model.layers
    assert len(model.weights) == len(base.weights) + 2
    assert len({id(w) for w in model.weights}) == len(model.weights)
    expected = model.get_layer("head")(base(X))
    np.testing.assert_allclose(model.predict(X, verbose=0), K.to_host(expected), rtol=1e-5)


def test_a_frozen_nested_base_keeps_its_weights_while_the_head_trains(xp, base):
    inputs = keras.Input(shape=(6,))
    features = base(inputs, training=False)
    model = keras.Model(inputs, layers.Dense(1, name="head")(features))
    base.trainable = False
    before = [w.copy() for w in base.get_weights()]
    head_before = model.get_layer("head").get_weights()[0].copy()
    assert len(model.trainable_weights) == 2
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0)
    for a, b in zip(before, base.get_weights()):
        assert np.array_equal(a, b)
    assert not np.array_equal(head_before, model.get_layer("head").get_weights()[0])


def test_freezing_a_functional_model_freezes_its_layers():
    base = _functional_base()
    base.trainable = False
    assert all(not layer.trainable for layer in base.layers)
    assert base.trainable_weights == [] and len(base.non_trainable_weights) == 4
    base.trainable = True
    assert len(base.trainable_weights) == 4


def test_a_layer_frozen_before_the_model_is_made_stays_frozen():
    inputs = keras.Input(shape=(6,))
    frozen = layers.Dense(2)
    frozen.trainable = False
    model = keras.Model(inputs, layers.Dense(1)(frozen(inputs)))
    assert not frozen.trainable and len(model.trainable_weights) == 2


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_a_model_is_a_layer_of_a_sequential(xp, kind):
    base = BASES[kind]()
    model = keras.Sequential([keras.Input((6,)), base, layers.Dense(1)])
    assert len(model.weights) == 6
    model.compile(optimizer="sgd", loss="mse")
    first = model.evaluate(X, Y, verbose=0)
    model.fit(X, Y, batch_size=16, epochs=3, verbose=0)
    assert model.evaluate(X, Y, verbose=0) < first


def test_a_sequential_starting_with_a_functional_base_is_built_from_its_input(xp):
    base = _functional_base()
    model = keras.Sequential([base, layers.Dense(1)])
    assert model.built and model.count_params() == base.count_params() + 4
    assert model.output_shape == (None, 1)


class Scaled(layers.Layer):
    """A call() layer taking a second tensor as a keyword argument."""

    def call(self, inputs, scale=None):
        return inputs * scale


def test_keras_tensors_in_keyword_arguments_are_graph_inputs_too(xp):
    x, s = keras.Input(shape=(6,)), keras.Input(shape=(1,))
    model = keras.Model([x, s], Scaled()(x, scale=s))
    got = model([X[:3], X[:3, :1]])
    np.testing.assert_allclose(K.to_host(got), X[:3] * X[:3, :1], rtol=1e-6)


class Penalised(layers.Layer):
    def call(self, inputs):
        self.add_loss(ops.sum(ops.square(inputs)) * 0.01)
        return inputs


def test_add_loss_from_a_layer_in_the_graph_joins_the_loss_and_model_losses(xp):
    inputs = keras.Input(shape=(6,))
    outputs = layers.Dense(1, kernel_initializer="ones")(Penalised()(inputs))
    model = keras.Model(inputs, outputs)
    model(X[:4])
    assert len(model.losses) == 1
    np.testing.assert_allclose(
        float(K.to_host(model.losses[0])), 0.01 * np.sum(X[:4] ** 2), rtol=1e-5
    )
    model.compile(optimizer="sgd", loss="mse")
    with_penalty = model.evaluate(X, Y, verbose=0)
    plain = float(np.mean((model.predict(X, verbose=0) - Y) ** 2))
    assert with_penalty > plain


def test_weight_regularizers_in_the_graph_count_in_the_loss(xp):
    inputs = keras.Input(shape=(6,))
    hidden = layers.Dense(3, kernel_regularizer="l2")(inputs)
    model = keras.Model(inputs, ops.multiply(layers.Dense(1)(hidden), 1.0))
    assert len(model.losses) == 1
    model.compile(optimizer="sgd", loss="mse")
    plain = float(np.mean((model.predict(X, verbose=0) - Y) ** 2))
    assert model.evaluate(X, Y, verbose=0) > plain


def test_masks_flow_along_the_graph_edges(xp):
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]], dtype="int32")
    inputs = keras.Input(shape=(4,), dtype="int32")
    embedded = layers.Embedding(5, 3, mask_zero=True)(inputs)
    recurrent = layers.LSTM(2)
    model = keras.Model(inputs, layers.Dense(1)(recurrent(embedded)))
    embedding = model.layers[1]
    masked = recurrent(embedding(ids[:1, :2]))  # the sequence without its padding
    full = model.predict(ids, verbose=0)
    np.testing.assert_allclose(full[:1], K.to_host(model.layers[-1](masked)), rtol=1e-5, atol=1e-6)


class CountingModel(keras.Model):
    """Keras's "customizing fit" guide: a subclass with its own train_step, made as
    CountingModel(inputs, outputs)."""

    steps = 0

    def train_step(self, data):
        type(self).steps += 1
        return super().train_step(data)


class BuildsItsOwnGraph(keras.Model):
    def __init__(self, units, **kwargs):
        inputs = keras.Input(shape=(6,))
        super().__init__(inputs=inputs, outputs=layers.Dense(units)(inputs), **kwargs)
        self.units = units

    def describe(self):
        return f"{self.units} units"


def test_a_subclass_made_with_inputs_and_outputs_is_functional_with_its_methods(xp):
    inputs = keras.Input(shape=(6,))
    model = CountingModel(inputs, layers.Dense(1)(inputs))
    assert isinstance(model, CountingModel) and type(model).__mro__[1].__name__ == "Functional"
    model.compile(optimizer="sgd", loss="mse")
    before = CountingModel.steps
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    assert CountingModel.steps - before == 3
    own = BuildsItsOwnGraph(2, name="own")
    assert own.name == "own" and own.describe() == "2 units" and len(own.layers) == 2
    assert tuple(own.predict(X, verbose=0).shape) == (48, 2)


def test_a_model_with_nested_dict_inputs_is_called_on_keras_tensors_as_a_layer(xp):
    one, two = keras.Input((1,)), keras.Input((2,))
    inner = keras.Model({"1": one, "others": {"2": two}}, {"a": layers.Dense(3)(two), "b": one})
    outer_one, outer_two = keras.Input((1,)), keras.Input((2,))
    result = inner({"1": outer_one, "others": {"2": outer_two}})
    assert set(result) == {"a", "b"} and result["a"].shape == (None, 3)
    outer = keras.Model([outer_one, outer_two], result["a"])
    assert tuple(outer([np.ones((4, 1)), np.ones((4, 2))]).shape) == (4, 3)


def test_a_nested_models_output_mask_reaches_the_outer_layers(xp):
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [4, 4, 4, 4]], dtype="int32")
    tokens = keras.Input(shape=(4,), dtype="int32")
    embedding = layers.Embedding(5, 3, mask_zero=True)
    inner = keras.Model(tokens, embedding(tokens))
    outer_tokens = keras.Input(shape=(4,), dtype="int32")
    recurrent = layers.LSTM(2)
    nested = keras.Model(outer_tokens, recurrent(inner(outer_tokens)))
    flat_tokens = keras.Input(shape=(4,), dtype="int32")
    flat = keras.Model(flat_tokens, recurrent(embedding(flat_tokens)))
    np.testing.assert_allclose(
        nested.predict(ids, verbose=0), flat.predict(ids, verbose=0), rtol=1e-6
    )
    unmasked = recurrent(embedding(ids))  # without the mask the padding counts
    assert not np.allclose(K.to_host(unmasked), nested.predict(ids, verbose=0))


def test_a_mask_flows_into_a_nested_model(xp):
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]], dtype="int32")
    embedding, recurrent = layers.Embedding(5, 3, mask_zero=True), layers.LSTM(2)
    vectors = keras.Input(shape=(4, 3))
    inner = keras.Model(vectors, recurrent(vectors))
    tokens = keras.Input(shape=(4,), dtype="int32")
    nested = keras.Model(tokens, inner(embedding(tokens)))
    flat_tokens = keras.Input(shape=(4,), dtype="int32")
    flat = keras.Model(flat_tokens, recurrent(embedding(flat_tokens)))
    np.testing.assert_allclose(
        nested.predict(ids, verbose=0), flat.predict(ids, verbose=0), rtol=1e-6
    )
