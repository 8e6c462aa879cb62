"""Layers written the Keras 3 way (``build`` + ``add_weight`` + ``call``) in a Sequential."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops
from gpukeras.models._step import Step
from gpukeras.models._tape_step import TapeStep


class MyDense(layers.Layer):
    """Dense written with ops: the Keras guide's first custom layer."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class RecordsFlags(layers.Layer):
    """Remembers the training flag and mask it was given."""

    seen: list = []

    def call(self, inputs, training=None, mask=None):
        RecordsFlags.seen.append((training, mask is not None))
        return inputs * 2.0


class OnlyInputs(layers.Layer):
    def call(self, inputs):
        return inputs - 1.0


def _data(n=64, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]
    return x, y


def _custom_model(**compile_kwargs):
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [layers.Input((5,)), MyDense(8), layers.Activation("tanh"), layers.Dense(3, "softmax")]
    )
    compile_kwargs.setdefault("loss", "categorical_crossentropy")
    model.compile(optimizer=keras.optimizers.SGD(0.1), **compile_kwargs)
    return model


def _builtin_twin(custom):
    """The same network with built-in Dense layers and the custom model's weights."""
    model = keras.Sequential(
        [
            layers.Input((5,)),
            layers.Dense(8),
            layers.Activation("tanh"),
            layers.Dense(3, "softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    model.set_weights(custom.get_weights())
    return model


# -- training ----------
def test_call_layer_trains_like_the_builtin_layer_it_rewrites(backend_name):
    x, y = _data()
    custom = _custom_model()
    builtin = _builtin_twin(custom)
    history_custom = custom.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    history_builtin = builtin.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert isinstance(custom._step, TapeStep) and type(builtin._step) is Step
    np.testing.assert_allclose(
        history_custom.history["loss"], history_builtin.history["loss"], rtol=1e-5
    )
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert history_custom.history["loss"][-1] < history_custom.history["loss"][0]


def test_evaluate_and_predict_run_call(backend_name):
    x, y = _data()
    custom = _custom_model(metrics=["accuracy"])
    builtin = _builtin_twin(custom)
    builtin.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    np.testing.assert_allclose(custom.predict(x, verbose=0), builtin.predict(x, verbose=0), 1e-5)
    np.testing.assert_allclose(
        custom.evaluate(x, y, verbose=0), builtin.evaluate(x, y, verbose=0), rtol=1e-5
    )


def test_pure_builtin_sequential_with_builtin_loss_keeps_the_fused_step():
    x, y = _data()
    model = _builtin_twin(_custom_model())
    model.fit(x, y, epochs=1, verbose=0)
    assert type(model._step) is Step


@pytest.mark.parametrize("kind", ["call_layer", "builtin"])
def test_host_syncs_per_epoch_are_the_fused_steps(kind):
    x, y = _data()
    model = _custom_model(metrics=["accuracy"])
    if kind == "builtin":
        model = _builtin_twin(model)
        model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # builds everything
    before = K.host_syncs()
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_data=(x, y))
    assert K.host_syncs() - before == 3  # one read per epoch, validation logs included


# -- shapes, flags, masks ----------
def test_output_shape_is_inferred_from_call_and_shown_in_summary(capsys):
    model = keras.Sequential([layers.Input((5,)), MyDense(7), OnlyInputs()])
    assert model.output_shape == (None, 7)
    model.summary()
    out = capsys.readouterr().out
    assert "(None, 7)" in out and "my_dense" in out
    assert model.count_params() == 5 * 7 + 7


def test_unknown_axes_stay_unknown_in_the_inferred_shape():
    class SumTime(layers.Layer):
        def call(self, inputs):
            return ops.sum(inputs, axis=1)

    class KeepTime(layers.Layer):
        def call(self, inputs):
            return inputs * 3.0

    assert KeepTime().compute_output_shape((None, None, 4)) == (None, None, 4)
    assert SumTime().compute_output_shape((None, None, 4)) == (None, 4)


def test_compute_output_shape_is_used_when_defined():
    class Declared(layers.Layer):
        def call(self, inputs):
            return inputs

        def compute_output_shape(self, input_shape):
            return (input_shape[0], 99)

    model = keras.Sequential([layers.Input((5,)), Declared()])
    assert model.output_shape == (None, 99)


def test_training_is_passed_only_to_a_call_that_takes_it_and_inherited_when_none():
    RecordsFlags.seen = []
    x, y = _data()
    model = keras.Sequential([layers.Input((5,)), OnlyInputs(), RecordsFlags(), MyDense(3)])
    model.compile(optimizer="sgd", loss="mse")
    RecordsFlags.seen = []
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    model.predict(x, batch_size=64, verbose=0)
    assert RecordsFlags.seen == [(True, False), (False, False)]
    layer = RecordsFlags()
    RecordsFlags.seen = []
    layer(x)
    layer(x, training=True)
    assert RecordsFlags.seen == [(None, False), (True, False)]


def test_dropout_inside_a_call_layer_follows_the_models_training_flag():
    class WithDropout(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dropout = layers.Dropout(0.5)

        def call(self, inputs):
            return self.dropout(inputs)

    layer = WithDropout()
    x = np.ones((8, 10), dtype="float32")
    np.testing.assert_array_equal(K.to_host(layer(x)), x)
    dropped = K.to_host(layer(x, training=True))
    assert (dropped == 0).any() and set(np.unique(dropped)) <= {0.0, 2.0}


def test_mask_reaches_a_call_that_takes_it():
    seen = []

    class MaskReader(layers.Layer):
        supports_masking = True

        def call(self, inputs, mask=None):
            seen.append(None if mask is None else K.to_host(mask).tolist())
            return inputs

    model = keras.Sequential(
        [layers.Input((3,)), layers.Embedding(5, 2, mask_zero=True), MaskReader()]
    )
    model.predict(np.array([[1, 0, 2]]), verbose=0)
    assert seen[-1] == [[True, False, True]]


# -- sublayers, add_loss, regularizers ----------
class Block(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = layers.Dense(4, activation="relu")
        self.outer = MyDense(3)

    def call(self, inputs):
        return self.outer(self.inner(inputs))


def test_sublayers_weights_are_tracked_and_trained():
    x, y = _data()
    model = keras.Sequential([layers.Input((5,)), Block()])
    block = model.layers[0]
    assert [w.path for w in block.trainable_weights] == [
        f"{block.inner.name}/kernel",
        f"{block.inner.name}/bias",
        f"{block.outer.name}/kernel",
        f"{block.outer.name}/bias",
    ]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = model.get_weights()
    model.fit(x, y, epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


class Penalised(layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 3), name="kernel")

    def call(self, inputs):
        self.add_loss(0.5 * ops.sum(ops.square(self.w)))
        return ops.matmul(inputs, self.w)


def test_add_loss_joins_the_loss_and_its_gradient():
    x, y = _data()
    model = keras.Sequential([layers.Input((5,)), Penalised()])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    w = model.get_weights()[0]
    logged = model.evaluate(x, y, batch_size=64, verbose=0)
    mse = np.mean((x @ w - y) ** 2)
    np.testing.assert_allclose(logged, mse + 0.5 * np.sum(w**2), rtol=1e-5)
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    grad = 2 * x.T @ (x @ w - y) / y.size + w
    np.testing.assert_allclose(model.get_weights()[0], w - 0.1 * grad, rtol=1e-4, atol=1e-6)
    assert len(model.layers[0].losses) == 1  # the last call's, not every call's


def test_weight_regularizer_of_a_call_layer_is_in_the_loss():
    class Regularised(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], 3), name="kernel", regularizer=keras.regularizers.L2(0.1)
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.w)

    x, y = _data()
    model = keras.Sequential([layers.Input((5,)), Regularised()])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    w = model.get_weights()[0]
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    grad = 2 * x.T @ (x @ w - y) / y.size + 2 * 0.1 * w
    np.testing.assert_allclose(model.get_weights()[0], w - 0.1 * grad, rtol=1e-4, atol=1e-6)


# -- errors ----------
def test_shape_mismatch_inside_call_names_the_layer_and_the_op():
    class Broken(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(7, 3), name="kernel")

        def call(self, inputs):
            return ops.matmul(inputs, self.w)

    with pytest.raises(Exception, match=r"broken.*matmul|matmul.*broken") as info:
        keras.Sequential([layers.Input((5,)), Broken(name="broken")])
    assert "Traceback" not in str(info.value)


class ReadsOnHost(layers.Layer):
    def call(self, inputs, training=None):
        if training:
            float(ops.sum(inputs))
        return inputs


class ArgmaxOnGradientPath(layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 3))

    def call(self, inputs):
        picked = ops.cast(ops.argmax(ops.matmul(inputs, self.w), axis=-1), "float32")
        return ops.expand_dims(picked, -1) * ops.ones((1, 3))


class WritesInPlace(layers.Layer):
    def call(self, inputs):
        doubled = inputs * 2.0
        doubled[0] = 1.0
        return doubled


@pytest.mark.parametrize(
    "cls, message",
    [
        (ReadsOnHost, r"layer 'mine', op 'sum': float\(tensor\) reads a traced value"),
        (ArgmaxOnGradientPath, r"layer 'mine', op 'argmax': this op has no gradient"),
        (WritesInPlace, r"layer 'mine', op 'multiply': in-place write to a traced value"),
    ],
)
def test_errors_in_a_training_step_name_the_layer_and_the_op(cls, message):
    x = np.ones((4, 3), "float32")
    model = keras.Sequential([layers.Input((3,)), layers.Dense(3), cls(name="mine")])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match=message):
        model.fit(x, x, verbose=0)


def test_a_layer_with_neither_call_nor_forward_says_what_to_implement():
    class Empty(layers.Layer):
        pass

    with pytest.raises(NotImplementedError, match="call"):
        Empty().forward(np.ones((1, 2), "float32"))


# -- saving ----------
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_call_layer_model_saves_and_loads_with_custom_objects(tmp_path, suffix):
    x, y = _data()
    model = _custom_model()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    with pytest.raises(Exception, match="MyDense"):
        keras.saving.load_model(path)
    loaded = keras.saving.load_model(path, custom_objects={"MyDense": MyDense})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-6)
    loaded.fit(x, y, epochs=1, verbose=0)  # compiled again from the file, and trains


def test_callbacks_see_the_tape_steps_logs(tmp_path):
    x, y = _data()
    model = _custom_model(metrics=["accuracy"])
    logger = keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    seen = []
    spy = keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: seen.append(logs["loss"]))
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[logger, spy])
    assert len(seen) == 4 and all(np.isfinite(seen))
    assert (tmp_path / "log.csv").read_text().splitlines()[0] == "epoch,accuracy,loss"


# -- built-in layers on the tape ----------------------------------------------------------------
def _gradients(layer, inputs, weights):
    from gpukeras import autodiff

    with autodiff.GradientTape() as tape:
        loss = None
        for x, c in zip(inputs, weights):
            term = ops.sum(layer(x) * c)
            loss = term if loss is None else loss + term
    return [K.to_host(g) for g in tape.gradient(loss, layer.trainable_weights)]


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: layers.Dense(3, activation="tanh"), (4, 5)),
        (lambda: layers.Conv2D(2, 3, padding="same"), (2, 5, 5, 3)),
        (lambda: layers.LSTM(3, return_sequences=True), (2, 4, 3)),
    ],
    ids=["Dense", "Conv2D", "LSTM"],
)
def test_a_builtin_layer_called_twice_on_the_tape_gets_the_sum_of_both_gradients(make, shape):
    rng = np.random.default_rng(0)
    layer = make()
    x1, x2 = (rng.normal(size=shape).astype("float32") for _ in range(2))
    out_shape = K.to_host(layer(x1)).shape
    c1, c2 = (rng.normal(size=out_shape).astype("float32") for _ in range(2))
    both = _gradients(layer, [x1, x2], [c1, c2])
    first, second = _gradients(layer, [x1], [c1]), _gradients(layer, [x2], [c2])
    for g, a, b in zip(both, first, second):
        np.testing.assert_allclose(g, a + b, rtol=1e-5, atol=1e-6)


def test_input_gradient_flows_through_a_builtin_layer_node():
    from gpukeras import autodiff

    layer = layers.Dense(2, use_bias=False)
    x = np.ones((3, 4), "float32")
    layer(x)
    kernel = K.to_host(layer.trainable_weights[0].value)
    watched = K.to_device(x)
    with autodiff.GradientTape() as tape:
        tape.watch(watched)
        loss = ops.sum(layer(watched))
    grad = tape.gradient(loss, watched)
    np.testing.assert_allclose(K.to_host(grad), np.tile(kernel.sum(axis=1), (3, 1)), rtol=1e-6)


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_a_call_layer_with_sublayers_round_trips_its_weights(tmp_path, suffix):
    x, y = _data()
    model = keras.Sequential([layers.Input((5,)), Block()])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"model{suffix}"
    if suffix == ".weights.h5":
        model.save_weights(path)
        loaded = keras.Sequential([layers.Input((5,)), Block()])
        loaded.load_weights(path)
    else:
        model.save(path)
        loaded = keras.saving.load_model(path, custom_objects={"Block": Block})
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-6)


def test_a_sequential_inside_a_call_layer_is_tracked_and_follows_training():
    class Wrapper(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.block = keras.Sequential(
                [layers.Dense(4, kernel_regularizer="l2"), layers.Dropout(0.5)]
            )

        def call(self, inputs):
            return self.block(inputs)

    x, y = _data()
    model = keras.Sequential([layers.Input((5,)), Wrapper(), layers.Dense(3)])
    wrapper = model.layers[0]
    assert len(wrapper.trainable_weights) == 2 and model.count_params() == 24 + 15
    ones = np.ones((6, 5), "float32")
    np.testing.assert_array_equal(K.to_host(wrapper(ones)), K.to_host(wrapper(ones)))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = model.get_weights()
    logs = model.evaluate(x, y, verbose=0)
    kernel, bias, last_kernel, last_bias = before
    out = (x @ kernel + bias) @ last_kernel + last_bias  # Dropout is off in evaluate
    penalty = 0.01 * np.sum(kernel**2)
    np.testing.assert_allclose(logs, np.mean((out - y) ** 2) + penalty, rtol=1e-5)
    model.fit(x, y, epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_a_layer_with_several_outputs_joins_the_tape_once_per_output():
    from gpukeras import autodiff

    rng = np.random.default_rng(1)
    layer = layers.LSTM(3, return_sequences=True, return_state=True)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    outputs = layer(x)
    seeds = [rng.normal(size=K.to_host(o).shape).astype("float32") for o in outputs]
    with autodiff.GradientTape() as tape:
        parts = layer(x)
        loss = sum(ops.sum(part * seed) for part, seed in zip(parts, seeds))
    got = tape.gradient(loss, layer.trainable_weights)
    _, _, pullback = layer.forward_with_pullback(K.to_device(x), False)
    _, expected = pullback([K.to_device(s) for s in seeds], need_input_grad=False)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(K.to_host(g), K.to_host(e), rtol=1e-5, atol=1e-6)


def test_an_unknown_training_flag_leaves_calls_own_default():
    class DefaultsToTrue(layers.Layer):
        def call(self, inputs, training=True):
            return inputs * (2.0 if training else 1.0)

    layer = DefaultsToTrue()
    x = np.ones((1, 2), "float32")
    assert K.to_host(layer(x)).tolist() == [[2.0, 2.0]]
    assert K.to_host(layer(x, training=False)).tolist() == [[1.0, 1.0]]


def test_add_weight_takes_keras3_and_keras2_argument_orders():
    layer = layers.Layer()
    positional = layer.add_weight((2, 3), "ones", None, False)
    named = layer.add_weight(shape=(4,), initializer="zeros", name="bias", autocast=True)
    legacy = layer.add_weight("kernel", (3, 1), "ones")
    scalar = layer.add_weight(shape=(), initializer="ones", name="temperature")
    assert (positional.shape, positional.trainable, named.name, named.shape) == (
        (2, 3), False, "bias", (4,)
    )  # fmt: skip
    assert (legacy.name, legacy.shape, scalar.shape) == ("kernel", (3, 1), ())
    constrained = layer.add_weight(shape=(2,), constraint="non_neg", overwrite_with_gradient=True)
    assert type(constrained.constraint).__name__ == "NonNeg"
    assert constrained.overwrite_with_gradient is True and legacy.constraint is None
    with pytest.raises(ValueError, match="Unknown constraint: 'non_negative'"):
        layer.add_weight(shape=(2,), constraint="non_negative")
    with pytest.raises(TypeError, match="initialiser"):
        layer.add_weight(shape=(2,), initialiser="ones")


def test_shape_inference_leaves_weights_and_random_streams_as_they_were():
    class ComputeSum(layers.Layer):
        def build(self, input_shape):
            self.total = self.add_weight(shape=(input_shape[-1],), trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs + 1.0, axis=0))
            noise = keras.random.uniform(ops.shape(inputs))
            return inputs + 0.0 * noise

    state = K.random.get_state()
    model = keras.Sequential([layers.Input((3,)), ComputeSum()])
    assert model.output_shape == (None, 3)
    np.testing.assert_array_equal(model.layers[0].total.numpy(), np.zeros(3))
    after = K.random.get_state()
    assert after["host"] == state["host"] and after["device"] == state["device"]


def test_extra_keyword_arguments_reach_call_and_are_refused_by_builtin_layers():
    class Scaled(layers.Layer):
        def call(self, inputs, scale=1.0, training=None):
            return inputs * scale

    x = np.ones((1, 2), "float32")
    assert K.to_host(Scaled()(x, scale=3.0)).tolist() == [[3.0, 3.0]]
    with pytest.raises(TypeError, match=r"takes only inputs, training and mask.*\['scale'\]"):
        layers.Dense(2)(x, scale=3.0)
