"""Layers old scripts use: RepeatVector, Permute, the noise layers, SpatialDropout*,
Masking and ActivityRegularization: shapes, gradients, masks and configs."""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import layers
from gpukeras.layers._serialization import deserialize, serialize
from gpukeras.utils import check_gradients

RNG = np.random.default_rng(1)
F64 = {"dtype": "float64"}


@pytest.mark.parametrize(
    ("make", "shape", "out_shape"),
    [
        (lambda: layers.RepeatVector(3, **F64), (2, 4), (2, 3, 4)),
        (lambda: layers.Permute((2, 1), **F64), (2, 3, 4), (2, 4, 3)),
        (lambda: layers.Permute((3, 1, 2), **F64), (2, 3, 4, 5), (2, 5, 3, 4)),
        (lambda: layers.Masking(**F64), (2, 3, 4), (2, 3, 4)),
        (lambda: layers.ActivityRegularization(0.1, 0.1, **F64), (2, 3), (2, 3)),
        (lambda: layers.Cropping1D((1, 2), **F64), (2, 6, 3), (2, 3, 3)),
        (lambda: layers.Cropping1D(1, **F64), (2, 4, 3), (2, 2, 3)),
        (lambda: layers.Cropping3D(1, **F64), (1, 4, 3, 3, 2), (1, 2, 1, 1, 2)),
        (
            lambda: layers.Cropping3D(((0, 1), (1, 1), (1, 0)), "channels_first", **F64),
            (2, 2, 3, 4, 3),
            (2, 2, 2, 2, 2),
        ),
    ],
)
def test_deterministic_layer_gradients_match_finite_differences(make, shape, out_shape):
    layer = make()
    x = RNG.normal(size=shape)
    assert np.asarray(K.to_host(layer(K.to_device(x)))).shape == out_shape
    assert layer.compute_output_shape(shape) == out_shape
    errors = check_gradients(layer, x)
    assert max(errors.values()) < 1e-5


def test_repeat_vector_repeats_each_sample(xp):
    x = RNG.normal(size=(2, 3))
    out = K.to_host(layers.RepeatVector(2)(K.to_device(x)))
    np.testing.assert_array_equal(out, np.stack([x, x], axis=1))


def test_masking_zeroes_and_masks_padded_steps(xp):
    x = RNG.normal(size=(2, 3, 2))
    x[0, 2] = 0.0
    layer = layers.Masking(0.0)
    out = K.to_host(layer(K.to_device(x)))
    np.testing.assert_array_equal(out, x)
    mask = K.to_host(layer.compute_mask(K.to_device(x)))
    np.testing.assert_array_equal(mask, [[True, True, False], [True, True, True]])


def test_noise_layers_are_the_identity_at_inference(xp):
    x = K.to_device(RNG.normal(size=(4, 5)))
    for layer in (layers.GaussianNoise(1.0), layers.GaussianDropout(0.5)):
        np.testing.assert_array_equal(K.to_host(layer(x, training=False)), K.to_host(x))


def test_gaussian_noise_adds_noise_of_the_given_scale_and_passes_gradients(xp):
    layer = layers.GaussianNoise(0.5, seed=3)
    x = K.to_device(np.zeros((200, 50)))
    noise = K.to_host(layer.forward(x, training=True))
    assert abs(noise.std() - 0.5) < 0.02 and abs(noise.mean()) < 0.02
    grad = K.to_device(RNG.normal(size=(200, 50)))
    np.testing.assert_array_equal(K.to_host(layer.backward(grad)), K.to_host(grad))


def test_gaussian_dropout_scales_the_gradient_by_its_own_noise(xp):
    layer = layers.GaussianDropout(0.2, seed=3)
    x = K.to_device(np.ones((200, 50)))
    y = K.to_host(layer.forward(x, training=True))
    assert abs(y.mean() - 1.0) < 0.02 and abs(y.std() - 0.5) < 0.02  # sqrt(0.2 / 0.8)
    np.testing.assert_allclose(K.to_host(layer.backward(K.to_device(np.ones((200, 50))))), y)


@pytest.mark.parametrize(
    ("make", "shape", "kept_axes"),
    [
        (lambda: layers.SpatialDropout1D(0.5, seed=1), (8, 6, 10), (0, 2)),
        (lambda: layers.SpatialDropout2D(0.5, seed=1), (8, 3, 3, 10), (0, 3)),
        (lambda: layers.SpatialDropout2D(0.5, "channels_first", seed=1), (8, 10, 3, 3), (0, 1)),
        (lambda: layers.SpatialDropout3D(0.5, seed=1), (4, 2, 2, 2, 10), (0, 4)),
    ],
)
def test_spatial_dropout_drops_whole_channels(xp, make, shape, kept_axes):
    layer = make()
    y = K.to_host(layer.forward(K.to_device(np.ones(shape)), training=True))
    other = tuple(a for a in range(len(shape)) if a not in kept_axes)
    assert (y.min(axis=other) == y.max(axis=other)).all()  # one draw per (sample, channel)
    assert set(np.unique(y)) == {0.0, 2.0}
    grad = K.to_host(layer.backward(K.to_device(np.ones(shape))))
    np.testing.assert_array_equal(grad, y)


@pytest.mark.parametrize(
    "layer",
    [
        layers.RepeatVector(3),
        layers.Permute((2, 1)),
        layers.GaussianNoise(0.1, seed=2),
        layers.GaussianDropout(0.3),
        layers.SpatialDropout1D(0.2),
        layers.SpatialDropout2D(0.2, data_format="channels_first"),
        layers.SpatialDropout3D(0.2),
        layers.Masking(-1.0),
        layers.ActivityRegularization(l1=0.1, l2=0.2),
        layers.Cropping1D((2, 1)),
        layers.Cropping3D((1, 2, 0), data_format="channels_first"),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_new_layers_round_trip_through_their_config(layer):
    clone = deserialize(serialize(layer))
    assert type(clone) is type(layer)
    config, clone_config = layer.get_config(), clone.get_config()
    config.pop("name")
    clone_config.pop("name")
    assert clone_config == config


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: layers.RepeatVector(0), "n"),
        (lambda: layers.Permute((1, 1)), "dims"),
        (lambda: layers.GaussianNoise(-1.0), "stddev"),
        (lambda: layers.GaussianDropout(1.0), "rate"),
        (lambda: layers.SpatialDropout2D(0.5, data_format="nchw"), "data_format"),
        (lambda: layers.Cropping1D(-1), "cropping"),
        (lambda: layers.Cropping3D((1, 2)), "cropping"),
        (lambda: layers.Cropping1D(2).compute_output_shape((None, 4, 3)), "at least one"),
    ],
)
def test_bad_arguments_are_refused_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_activity_regularization_penalty_is_in_the_loss():
    layer = layers.ActivityRegularization(l1=0.0, l2=0.5)
    x = np.full((2, 3), 2.0)
    penalty = layer.activity_regularizer(x)
    assert float(K.to_host(penalty)) == pytest.approx(0.5 * 4.0 * 6)
