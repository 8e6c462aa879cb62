"""BatchNormalization and LayerNormalization: Keras 3 outputs in training and inference,
moving statistics, finite-difference gradients, masks, configs and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers
from gpukeras.layers._serialization import deserialize, serialize
from tests._conv_fixtures import NORM_CASES, layer_from_case
from tests.gradcheck import check_layer_gradients, numerical_gradient

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("case", NORM_CASES, ids=[c[0] for c in NORM_CASES])
def test_inference_then_training_match_keras(xp, case):
    name, class_name, kwargs, _ = case
    layer, x, data = layer_from_case(name, class_name, kwargs)
    np.testing.assert_allclose(K.to_host(layer(x)), data[f"{name}/y"], rtol=1e-5, atol=1e-6)
    y_training = K.to_host(layer(x, training=True))
    np.testing.assert_allclose(y_training, data[f"{name}/y_training"], rtol=1e-5, atol=1e-6)
    # The training call updated the moving statistics as Keras's did.
    for i, weight in enumerate(layer.get_weights()):
        np.testing.assert_allclose(weight, data[f"{name}/after{i}"], rtol=1e-6, atol=1e-7)


def test_batchnorm_weights_order_and_trainability():
    layer = layers.BatchNormalization()
    layer.ensure_built((None, 5))
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in layer.non_trainable_weights] == ["moving_mean", "moving_variance"]
    np.testing.assert_array_equal(layer.get_weights()[3], np.ones(5, "float32"))


def test_moving_statistics_update_rule(xp):
    layer = layers.BatchNormalization(momentum=0.9, dtype="float64")
    host = RNG.normal(2.0, 3.0, size=(50, 3))
    layer(K.to_device(host), training=True)
    mean, variance = host.mean(axis=0), host.var(axis=0)  # biased variance, as Keras 3
    np.testing.assert_allclose(layer.get_weights()[2], 0.1 * mean)
    np.testing.assert_allclose(layer.get_weights()[3], 0.9 + 0.1 * variance)


def test_inference_and_frozen_layers_leave_statistics_alone(xp):
    layer = layers.BatchNormalization(dtype="float64")
    x = K.to_device(RNG.normal(size=(6, 2)))
    layer(x, training=False)
    layer.trainable = False
    y = K.to_host(layer(x, training=True))  # Keras 3: a frozen layer runs in inference mode
    np.testing.assert_allclose(layer.get_weights()[2:], [np.zeros(2), np.ones(2)])
    np.testing.assert_allclose(y, K.to_host(x) / np.sqrt(1.0 + 1e-3))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "options, shape",
    [({}, (6, 3)), ({}, (3, 2, 2, 3)), ({"axis": 1}, (3, 2, 4)),
     ({"center": False, "scale": False}, (5, 2)), ({"scale": False}, (4, 3))],
    ids=str,
)  # fmt: skip
def test_batchnorm_gradients(xp, options, shape, training):
    layer = layers.BatchNormalization(
        dtype="float64", gamma_initializer="random_normal", beta_initializer="random_normal",
        moving_variance_initializer="ones", **options,
    )  # fmt: skip
    check_layer_gradients(layer, RNG.normal(size=shape), training=training)


def test_masked_batchnorm_matches_keras_moments_and_gradients(xp):
    layer = layers.BatchNormalization(dtype="float64", gamma_initializer="random_normal")
    host = RNG.normal(size=(2, 4, 3))
    mask_host = np.array([[1, 1, 1, 0], [1, 0, 0, 0]], dtype=bool)
    x, mask = K.to_device(host), K.to_device(mask_host)
    layer.ensure_built(x.shape)
    layer.input_mask = mask
    layer.forward(x, training=True)
    kept = host[mask_host]
    total = len(kept) + 1e-7
    mean = kept.sum(axis=0) / total
    np.testing.assert_allclose(layer.get_weights()[2], 0.01 * mean)
    r = K.to_device(RNG.normal(size=host.shape))

    def objective():
        return float(K.to_host((layer.forward(x, training=True) * r).sum()))

    layer.forward(x, training=True)
    analytic = K.to_host(layer.backward(r))
    np.testing.assert_allclose(analytic, numerical_gradient(objective, x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "options, shape",
    [({}, (3, 5)), ({}, (2, 3, 4)), ({"axis": [1, 2]}, (2, 3, 4)), ({"axis": 1}, (2, 3, 4)),
     ({"center": False}, (3, 4)), ({"scale": False, "epsilon": 0.1}, (3, 4))],
    ids=str,
)  # fmt: skip
def test_layernorm_gradients(xp, options, shape):
    layer = layers.LayerNormalization(
        dtype="float64", gamma_initializer="random_normal", beta_initializer="random_normal",
        **options,
    )  # fmt: skip
    check_layer_gradients(layer, RNG.normal(size=shape))


def test_configs_roundtrip():
    for layer in [
        layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False),
        layers.LayerNormalization(axis=[1, 2], epsilon=1e-6),
    ]:
        clone = deserialize(serialize(layer))
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
    config = layers.BatchNormalization().get_config()
    assert (config["axis"], config["momentum"], config["epsilon"]) == (-1, 0.99, 1e-3)


def test_fit_updates_moving_statistics_and_predict_uses_them():
    model = keras.models.Sequential([layers.Input((4,)), layers.BatchNormalization()])
    model.compile(optimizer="sgd", loss="mse")
    x = RNG.normal(5.0, 2.0, size=(32, 4)).astype("float32")
    model.fit(x, x, batch_size=32, epochs=3, verbose=0)
    moving_mean = model.layers[0].get_weights()[2]
    assert np.all(moving_mean > 0.1)  # three updates towards mean 5: 1 - 0.99**3 of it
    expected = (x - moving_mean) / np.sqrt(model.layers[0].get_weights()[3] + 1e-3)
    gamma, beta = model.layers[0].get_weights()[:2]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected * gamma + beta, rtol=1e-4)


def test_bad_arguments_and_inputs():
    with pytest.raises(TypeError, match="axis='x'"):
        layers.BatchNormalization(axis="x")
    with pytest.raises(ValueError, match="axis=3"):
        layers.BatchNormalization(axis=3).ensure_built((None, 4))
    with pytest.raises(ValueError, match="momentum=None"):
        layers.BatchNormalization(momentum=None)
    with pytest.raises(NotImplementedError, match="renorm=True"):
        layers.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="axis=0"):
        layers.LayerNormalization(axis=0).ensure_built((None, 4))
    with pytest.raises(TypeError, match="axis="):
        layers.LayerNormalization(axis=1.5)
    with pytest.raises(ValueError, match="known size"):
        layers.BatchNormalization().ensure_built((None, None))
