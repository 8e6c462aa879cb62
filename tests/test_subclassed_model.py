"""Subclassed keras.Model: attribute tracking, building, calling, summary, training API."""

from __future__ import annotations

import re

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops

RNG = np.random.default_rng(3)
X = RNG.normal(size=(40, 4)).astype("float32")
Y = RNG.normal(size=(40, 2)).astype("float32")


class TwoLayer(keras.Model):
    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden, activation="relu")
        self.out = layers.Dense(2)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


class Holder(keras.Model):
    """Layers in an attribute, a list, a dict, a nested model and its own variables."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = layers.Dense(3)
        self.blocks = [layers.Dense(3), [layers.Dense(3)]]
        self.named = {"last": layers.Dense(2)}
        self.inner = TwoLayer(hidden=4)
        self.scale = self.add_weight(shape=(2,), initializer="ones", name="scale")
        self.offset = keras.Variable(np.zeros(2, "float32"), name="offset")

    def call(self, inputs, training=None):
        x = self.first(inputs)
        x = self.blocks[1][0](self.blocks[0](x))
        return self.named["last"](x) * self.scale + self.offset + self.inner(inputs)


def test_layers_in_attributes_lists_dicts_and_nested_models_are_tracked():
    model = Holder()
    model(X[:2])
    assert [type(layer).__name__ for layer in model.layers] == [
        "Dense",
        "Dense",
        "Dense",
        "Dense",
        "TwoLayer",
    ]
    names = [w.name for w in model.weights]
    assert names[:2] == ["scale", "offset"]  # own variables first, in the order set
    assert len(model.weights) == 2 + 4 * 2 + 2 * 2
    assert model.count_params() == sum(int(np.prod(w.shape)) for w in model.weights)


def test_a_layer_appended_to_a_list_later_is_tracked():
    model = TwoLayer()
    model.extra = []
    model.extra.append(layers.Dense(1))
    assert model.layers[-1] is model.extra[0]


def test_the_default_name_is_the_snake_case_class_name_and_kwargs_are_checked():
    keras.utils.clear_session()
    assert TwoLayer().name == "two_layer" and TwoLayer().name == "two_layer_1"
    assert TwoLayer(name="mine", trainable=False).trainable is False
    with pytest.raises(TypeError, match="Invalid keyword argument.*'units'"):
        TwoLayer(units=3)


def test_a_functional_model_without_keras_tensors_is_refused_clearly():
    with pytest.raises(ValueError, match="All `inputs` values must be KerasTensors"):
        keras.Model(inputs=None, outputs=None)


def test_a_subclassed_model_is_a_layer_callable_inside_another_model(xp):
    outer = Holder()
    out = outer(X[:3])
    assert isinstance(outer.inner, keras.layers.Layer)
    assert tuple(out.shape) == (3, 2)
    assert isinstance(out, xp.ndarray)


def test_a_non_trainable_model_has_no_trainable_weights():
    model = TwoLayer(trainable=False)
    model(X[:1])
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4


def test_summary_before_build_says_how_to_build_it():
    with pytest.raises(ValueError, match="has not yet been built.*call it on a batch"):
        TwoLayer().summary()


def test_summary_after_build_lists_layers_and_counts_own_variables():
    model = Holder(name="holder")
    model.build((None, 4))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "holder"' in text and re.search(r"two_layer(_\d+)? \(TwoLayer\)", text)
    total = sum(int(np.prod(w.shape)) for w in model.weights)
    assert f"Total params: {total:,}" in text


def test_build_runs_call_once_and_records_the_shapes():
    model = TwoLayer()
    model.build((None, 4))
    assert model.built and model.input_shape == (None, 4) and model.output_shape == (None, 2)
    assert len(model.weights) == 4


def test_a_user_build_is_called_with_the_input_shape():
    class WithBuild(keras.Model):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), name="w")

        def call(self, inputs):
            return keras.ops.matmul(inputs, self.w)

    model = WithBuild()
    assert tuple(model(X[:2]).shape) == (2, 2)
    assert [w.name for w in model.weights] == ["w"]
    explicit = WithBuild()
    explicit.build((None, 4))
    assert explicit.built and explicit.count_params() == 8
    explicit.summary(print_fn=lambda line: None)
    trained = WithBuild()
    trained.compile(optimizer="sgd", loss="mse")
    trained.fit(X, Y, epochs=1, verbose=0)  # fit builds it through the user's build
    assert trained.output_shape == (None, 2)


def test_a_model_without_call_names_what_is_missing():
    class NoCall(keras.Model):
        pass

    with pytest.raises(NotImplementedError, match="call"):
        NoCall()(X[:1])


def test_sequential_takes_a_subclassed_model_as_a_layer(xp):
    inner = TwoLayer()
    model = keras.Sequential([keras.Input((4,)), inner, layers.Dense(1)])
    assert len(model.weights) == len(inner.weights) + 2
    expected = model.layers[1](inner(X[:5]))
    np.testing.assert_allclose(model.predict(X[:5], verbose=0), K.to_host(expected), rtol=1e-6)
    model.compile("sgd", "mse")
    before = inner.get_weights()[0].copy()
    model.fit(X, X[:, :1], epochs=1, verbose=0)
    assert not np.array_equal(before, inner.get_weights()[0])


# -- the training API -------------------------------------------------------------------
def _compiled(**kwargs):
    keras.utils.set_random_seed(1)
    model = TwoLayer()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", **kwargs)
    return model


def test_fit_evaluate_predict_and_train_on_batch_run(xp):
    model = _compiled(metrics=["mae"])
    history = model.fit(X, Y, batch_size=8, epochs=3, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, mae = model.evaluate(X, Y, verbose=0)
    assert loss > 0 and mae > 0
    assert model.predict(X, verbose=0).shape == (40, 2)
    assert np.all(np.isfinite(model.train_on_batch(X[:8], Y[:8])))


def test_fit_reads_the_device_once_per_epoch():
    model = _compiled(metrics=["mae"])
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    before = K.host_syncs()
    model.fit(X, Y, batch_size=8, epochs=3, verbose=0)
    assert K.host_syncs() - before == 3


def test_a_subclassed_model_trains_as_the_same_sequential_does():
    keras.utils.set_random_seed(2)
    subclassed = TwoLayer()
    subclassed(X[:1])
    sequential = keras.Sequential(
        [keras.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(2)]
    )
    sequential.set_weights(subclassed.get_weights())
    for model in (subclassed, sequential):
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    a = subclassed.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    b = sequential.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-6)
    for u, v in zip(subclassed.get_weights(), sequential.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


def test_add_loss_in_call_joins_the_training_loss():
    class Penalised(TwoLayer):
        def call(self, inputs):
            out = super().call(inputs)
            self.add_loss(keras.ops.mean(keras.ops.square(out)) * 10.0)
            return out

    keras.utils.set_random_seed(1)
    model = Penalised()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    with_penalty = model.evaluate(X, Y, verbose=0)
    plain = keras.losses.MeanSquaredError()(Y, model.predict(X, verbose=0))
    assert with_penalty > float(plain) + 1e-3


def test_losses_added_by_layers_in_nested_lists_count_once_per_step():
    class Penalty(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(ops.square(inputs)) * 0.0 + 5.0)
            return inputs

    class Nested(TwoLayer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.groups = [[Penalty()]]

        def call(self, inputs):
            return super().call(self.groups[0][0](inputs))

    keras.utils.set_random_seed(1)
    model = Nested()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    with_penalty = model.evaluate(X, Y, verbose=0, batch_size=40)
    plain = float(np.mean((model.predict(X, verbose=0) - Y) ** 2))
    assert with_penalty == pytest.approx(plain + 5.0, rel=1e-5)
    history = model.fit(X, Y, batch_size=8, epochs=1, verbose=0).history
    assert history["loss"][0] == pytest.approx(plain + 5.0, rel=1e-4)


def test_a_sequential_inside_a_subclassed_model_trains_and_its_activity_losses_count_once():
    class WithStack(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.stack = keras.Sequential(
                [layers.Dense(3, activity_regularizer="l2"), layers.Dense(2)]
            )

        def call(self, inputs):
            return self.stack(inputs)

    keras.utils.set_random_seed(1)
    model = WithStack()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    history = model.fit(X, Y, batch_size=40, epochs=3, verbose=0).history
    first = history["loss"][0]
    assert history["loss"] == pytest.approx([first] * 3, rel=1e-6)  # no loss piles up
    hidden = model.stack.layers[0](X)
    penalty = 0.01 * float(np.sum(K.to_host(hidden) ** 2)) / len(X)
    plain = float(np.mean((model.predict(X, verbose=0) - Y) ** 2))
    assert first == pytest.approx(plain + penalty, rel=1e-5)  # the activity penalty, once
    assert len(model.weights) == 4


@pytest.mark.numpy_only("the probe restores the host random state; cuRAND's cannot be restored")
def test_building_by_a_probe_call_draws_nothing_from_the_random_streams():
    class Noisy(TwoLayer):
        def call(self, inputs):
            return super().call(inputs + keras.random.normal(ops.shape(inputs)))

    keras.utils.set_random_seed(5)
    expected = K.to_host(keras.random.uniform((3,)))
    keras.utils.set_random_seed(5)
    Noisy().build((None, 4))
    np.testing.assert_array_equal(K.to_host(keras.random.uniform((3,))), expected)
