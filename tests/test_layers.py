"""Core layers: gradients against finite differences, names, configs, legacy arguments."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import layers, regularizers
from gpukeras._naming import reset_names
from gpukeras.layers._serialization import deserialize, serialize
from tests.gradcheck import check_layer_gradients

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid", "softmax", "elu"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_gradients(xp, activation, use_bias):
    layer = layers.Dense(
        4,
        activation=activation,
        use_bias=use_bias,
        dtype="float64",
        bias_initializer="random_normal",
    )
    check_layer_gradients(layer, RNG.normal(size=(5, 3)) + 0.05)


def test_dense_on_rank3_inputs_uses_the_last_axis(xp):
    layer = layers.Dense(2, dtype="float64")
    check_layer_gradients(layer, RNG.normal(size=(3, 4, 5)))
    assert layer.compute_output_shape((None, 4, 5)) == (None, 4, 2)


def test_dense_weight_and_activity_regularizers_gradients(xp):
    layer = layers.Dense(
        3,
        dtype="float64",
        kernel_regularizer=regularizers.L2(0.1),
        bias_regularizer=regularizers.L1(0.2),
        activity_regularizer=regularizers.L2(0.05),
        bias_initializer="random_normal",
    )
    x = K.to_device(RNG.normal(size=(4, 2)))
    layer.ensure_built(x.shape)
    r = K.to_device(RNG.normal(size=(4, 3)))

    def total() -> float:
        y, _ = layer.forward_tracked(x, True)
        value = (y * r).sum()
        for penalty in layer.penalties():
            value = value + penalty
        return float(K.to_host(value))

    layer.forward_tracked(x, True)
    grad_x = K.to_host(layer.backward_with_penalties(r))
    from tests.gradcheck import numerical_gradient

    np.testing.assert_allclose(grad_x, numerical_gradient(total, x), rtol=1e-5, atol=1e-7)
    for variable in layer.trainable_weights:
        analytic = K.to_host(variable.grad).copy()
        np.testing.assert_allclose(
            analytic, numerical_gradient(total, variable.value), rtol=1e-5, atol=1e-7
        )


def test_activation_layer_gradients(xp):
    check_layer_gradients(layers.Activation("softplus", dtype="float64"), RNG.normal(size=(3, 4)))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flatten_gradients_and_order(xp, data_format):
    layer = layers.Flatten(data_format=data_format, dtype="float64")
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    out = K.to_host(layer(x))
    expected = x.transpose(0, 2, 1) if data_format == "channels_first" else x
    np.testing.assert_array_equal(out, expected.reshape(2, -1))
    check_layer_gradients(layers.Flatten(data_format=data_format), RNG.normal(size=(2, 3, 4)))


def test_reshape_gradients_and_inferred_axis(xp):
    layer = layers.Reshape((2, -1))
    assert layer.compute_output_shape((None, 12)) == (None, 2, 6)
    check_layer_gradients(layer, RNG.normal(size=(3, 12)))
    with pytest.raises(ValueError, match="target_shape"):
        layers.Reshape((5, 5)).ensure_built((None, 12))
    with pytest.raises(ValueError, match="Received: target_shape"):
        layers.Reshape((-1, -1))


def test_dropout_scales_kept_units_and_backward_uses_the_same_mask(xp):
    layer = layers.Dropout(0.5)
    x = K.to_device(np.ones((200, 50), dtype=np.float32))
    y = K.to_host(layer(x, training=True))
    assert set(np.unique(y).tolist()) <= {0.0, 2.0}
    assert 0.4 < (y == 0).mean() < 0.6
    grad = K.to_host(layer.backward(K.to_device(np.ones((200, 50), dtype=np.float32))))
    np.testing.assert_array_equal(grad, y)
    np.testing.assert_array_equal(K.to_host(layer(x, training=False)), K.to_host(x))


def test_dropout_noise_shape_shares_the_mask_along_none_axes(xp):
    layer = layers.Dropout(0.5, noise_shape=(None, 1))
    y = K.to_host(layer(np.ones((100, 6), dtype=np.float32), training=True))
    assert all(len(set(row.tolist())) == 1 for row in y)


@pytest.mark.parametrize("rate", [-0.1, 1.0, "half", True])
def test_dropout_rejects_bad_rates(rate):
    with pytest.raises(ValueError, match="Received: rate="):
        layers.Dropout(rate)


def test_default_names_are_unique_keras_style():
    reset_names()
    names = [
        layers.Dense(1).name,
        layers.Dense(1).name,
        layers.Dropout(0.1).name,
        layers.Dense(1).name,
    ]
    assert names == ["dense", "dense_1", "dropout", "dense_2"]


@pytest.mark.parametrize("units", [0, -3, 2.5, "8", None, True])
def test_dense_units_must_be_a_positive_int(units):
    with pytest.raises(ValueError, match=f"Received: units={units!r}"):
        layers.Dense(units)


def test_legacy_dense_arguments_warn_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = layers.Dense(
            output_dim=3,
            init="uniform",
            W_regularizer="l2",
            b_regularizer="l1",
            bias=False,
            input_dim=4,
        )
    assert [w.filename for w in caught] == [__file__] * 5
    assert all(issubclass(w.category, DeprecationWarning) for w in caught)
    assert layer.units == 3 and layer.use_bias is False
    assert layer.batch_input_shape == (None, 4)
    layer.ensure_built((None, 4))
    assert float(np.abs(layer.get_weights()[0]).max()) <= 0.05


def test_legacy_and_new_name_together_is_a_type_error_naming_both():
    with pytest.raises(TypeError, match="init.*kernel_initializer"):
        layers.Dense(3, init="uniform", kernel_initializer="zeros")
    with pytest.raises(TypeError, match="output_dim.*units"):
        layers.Dense(3, output_dim=4)


def test_unknown_layer_keyword_is_named():
    with pytest.raises(TypeError, match="colour"):
        layers.Dense(3, colour="red")


def test_weights_order_trainable_flag_and_count_params(xp):
    layer = layers.Dense(3)
    layer.ensure_built((None, 4))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert layer.kernel.shape == (4, 3) and layer.count_params() == 15
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_set_weights_checks_count_and_shape(xp):
    layer = layers.Dense(2)
    layer.ensure_built((None, 3))
    with pytest.raises(ValueError, match="expects 2 weight arrays"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"expected shape \(3, 2\)"):
        layer.set_weights([np.zeros((2, 2)), np.zeros(2)])


def test_config_round_trip_rebuilds_an_equivalent_layer(xp):
    layer = layers.Dense(
        5, activation="relu", kernel_regularizer=regularizers.L2(0.3), name="hidden"
    )
    layer.ensure_built((None, 2))
    clone = deserialize(serialize(layer))
    assert type(clone) is layers.Dense and clone.get_config() == layer.get_config()
    assert clone.built and clone.kernel.shape == (2, 5)


def test_unknown_class_in_a_config_is_refused():
    with pytest.raises(ValueError, match="Unknown layer class 'os.system'"):
        deserialize({"class_name": "os.system", "config": {}})


def test_input_validates_shapes():
    tensor = layers.Input(shape=(4,))
    assert tensor.shape == (None, 4)
    with pytest.raises(ValueError, match="Received: shape="):
        layers.Input(shape=(0,))
    with pytest.raises(ValueError, match="shape"):
        layers.Input()


def test_masks_travel_through_layers_that_support_them(xp):
    from gpukeras.models._step import forward_pass

    class MakeMask(layers.Layer):
        def forward(self, x, training=False):
            return x

        def compute_mask(self, inputs, mask=None):
            return inputs[:, 0] != 0

    class ReadMask(layers.Layer):
        def forward(self, x, training=False):
            self.seen = self.input_mask
            return x

    reader = ReadMask()
    blocker = layers.Flatten()
    forward_pass([MakeMask(), layers.Dropout(0.5), reader], xp.asarray([[0.0], [2.0]]), False)
    assert K.to_host(reader.seen).tolist() == [False, True]
    after_flatten = ReadMask()
    forward_pass([MakeMask(), blocker, after_flatten], xp.asarray([[0.0], [2.0]]), False)
    assert after_flatten.seen is None


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: layers.Dense(2, kernel_constraint="max_nrm"), "kernel_constraint"),
        (lambda: layers.Embedding(5, 2, embeddings_constraint="max_nrm"), "embeddings_constraint"),
        (lambda: layers.LSTM(2, recurrent_constraint="max_nrm"), "recurrent_constraint"),
        (lambda: layers.BatchNormalization(gamma_constraint="max_nrm"), "gamma_constraint"),
    ],
)
def test_unknown_weight_constraint_names_are_refused(make, argument):
    with pytest.raises(ValueError, match=f"Unknown constraint: 'max_nrm'.*{argument}='max_nrm'"):
        make()
