"""Pooling, global pooling, padding, cropping and upsampling: Keras 3 outputs and gradients."""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import layers
from gpukeras.layers._serialization import deserialize, serialize
from tests._conv_fixtures import POOL_CASES, layer_from_case
from tests.gradcheck import check_layer_gradients

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("case", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_forward_matches_keras(xp, case):
    name, class_name, kwargs, _ = case
    layer, x, data = layer_from_case(name, class_name, kwargs)
    y = K.to_host(layer(x))
    np.testing.assert_allclose(y, data[f"{name}/y"], rtol=1e-6, atol=1e-6)
    assert layer.compute_output_shape(tuple(x.shape)) == y.shape


@pytest.mark.parametrize("case", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_gradients(xp, case):
    name, class_name, kwargs, shape = case
    layer = getattr(layers, class_name)(dtype="float64", **kwargs)
    # Distinct values: max pooling has a unique maximum per window.
    x = RNG.permutation(np.prod(shape)).reshape(shape) * 0.01
    check_layer_gradients(layer, x)


@pytest.mark.parametrize("cls", [layers.MaxPooling2D, layers.GlobalMaxPooling2D])
def test_max_gradient_goes_to_the_first_maximum_only(xp, cls):
    layer = cls() if cls is layers.GlobalMaxPooling2D else cls(pool_size=2, strides=1)
    x = K.to_device(np.ones((1, 3, 3, 1), dtype="float32"))
    y = layer.forward(x, training=True)
    grad = K.to_host(layer.backward(xp.ones_like(y)))
    expected = (
        [[1, 0, 0], [0, 0, 0], [0, 0, 0]]
        if cls is layers.GlobalMaxPooling2D
        else [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    )
    np.testing.assert_array_equal(grad[0, :, :, 0], expected)


@pytest.mark.parametrize("channels_first", [False, True])
def test_tiled_max_pooling_gradient_goes_to_the_first_maximum_in_row_major_order(
    xp, channels_first
):
    """Disjoint windows (strides == pool_size): ties go to the first maximum reading the
    window row by row (not column by column), and rows/columns no window reaches get 0."""
    window = np.array([[1.0, 5.0], [5.0, 0.0]])
    x = np.zeros((1, 5, 5, 2), dtype="float32")  # a 2x2 output, last row/column cropped
    x[0, :2, :2, 0] = window
    x[0, 2:4, 2:4, 0] = 7.0  # all equal: the top-left one
    x[0, :2, 2:4, 1] = -3.0  # a negative maximum still gets its gradient
    x[0, 4, :, :] = x[0, :, 4, :] = 100.0  # outside every window
    data_format = "channels_first" if channels_first else "channels_last"
    layer = layers.MaxPooling2D(2, data_format=data_format)
    inputs = x.transpose(0, 3, 1, 2) if channels_first else x
    y = layer.forward(K.to_device(np.ascontiguousarray(inputs)), training=True)
    grad = K.to_host(layer.backward(xp.ones_like(y)))
    grad = grad.transpose(0, 2, 3, 1) if channels_first else grad
    expected = np.zeros_like(x)
    for row, column, channel in [(0, 1, 0), (0, 2, 0), (2, 0, 0), (2, 2, 0)] + [
        (0, 0, 1), (0, 2, 1), (2, 0, 1), (2, 2, 1)
    ]:  # fmt: skip
        expected[0, row, column, channel] = 1
    np.testing.assert_array_equal(grad, expected)


def test_tiled_pooling_matches_the_window_loop(xp):
    """Tiled windows against the general offset loop (strides given explicitly as a
    different but equal tuple still tiles; a 3x2 window tiles too)."""
    x = K.to_device(RNG.normal(size=(2, 7, 9, 3)).astype("float32"))
    for cls in (layers.MaxPooling2D, layers.AveragePooling2D):
        for pool in ((2, 2), (3, 2)):
            tiled = cls(pool)
            loop = cls(pool)
            loop._tiles = lambda x4: None
            y, expected = tiled.forward(x, training=True), loop.forward(x, training=True)
            np.testing.assert_allclose(K.to_host(y), K.to_host(expected), rtol=1e-6)
            grad = K.to_device(RNG.normal(size=y.shape).astype("float32"))
            np.testing.assert_allclose(
                K.to_host(tiled.backward(grad)), K.to_host(loop.backward(grad)), rtol=1e-6
            )


def test_copy_pixels_copies_strided_channel_blocks():
    from gpukeras.layers._pooling import copy_pixels

    source = RNG.normal(size=(4, 6, 5)).astype("float32")[:, ::2]
    target = np.empty((5, 4, 3), np.float32).transpose(1, 2, 0)
    copy_pixels(target, source.transpose(0, 1, 2))
    np.testing.assert_array_equal(target, source)


def test_masked_global_average_pooling_1d_skips_masked_steps(xp):
    layer = layers.GlobalAveragePooling1D(dtype="float64")
    x = K.to_device(RNG.normal(size=(2, 4, 3)))
    mask = K.to_device(np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool))
    y, out_mask = layer.forward_tracked(x, False, mask)
    host = K.to_host(x)
    np.testing.assert_allclose(K.to_host(y)[0], host[0, :2].mean(axis=0))
    np.testing.assert_allclose(K.to_host(y)[1], host[1].mean(axis=0))
    assert out_mask is None
    grad = K.to_host(layer.backward(xp.ones((2, 3))))
    np.testing.assert_allclose(grad[0, :, 0], [0.5, 0.5, 0, 0])


def test_configs_roundtrip_with_keras_keys():
    for layer in [
        layers.MaxPooling2D(3, strides=2, padding="same"),
        layers.AveragePooling1D(2, data_format="channels_first"),
        layers.GlobalAveragePooling2D(keepdims=True),
        layers.ZeroPadding2D(((1, 2), (3, 4))),
        layers.Cropping2D(1),
        layers.UpSampling2D((2, 3)),
    ]:
        clone = deserialize(serialize(layer))
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
    assert layers.MaxPooling2D().get_config()["strides"] == (2, 2)
    assert layers.ZeroPadding2D(2).padding == ((2, 2), (2, 2))
    assert layers.Cropping2D((1, 2)).cropping == ((1, 1), (2, 2))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.MaxPooling2D(padding="full"), "padding='full'"),
        (lambda: layers.AveragePooling2D(pool_size=0), "pool_size=0"),
        (lambda: layers.MaxPooling1D(strides=(1, 2)), r"strides=\(1, 2\)"),
        (lambda: layers.GlobalMaxPooling2D(data_format="channels_middle"), "channels_middle"),
        (lambda: layers.ZeroPadding2D(padding=-1), "padding=-1"),
        (lambda: layers.Cropping2D(cropping=((1, 2, 3), (0, 0))), "cropping="),
        (lambda: layers.UpSampling2D(size=0), "size=0"),
        (lambda: layers.UpSampling2D(interpolation="cubic"), "interpolation='cubic'"),
    ],
)
def test_bad_arguments_name_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match=r"rank 4.*input_shape=\(None, 8, 8\)"):
        layers.MaxPooling2D().ensure_built((None, 8, 8))
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPooling2D(3).ensure_built((None, 2, 8, 1))
    with pytest.raises(ValueError, match="rank 3"):
        layers.GlobalAveragePooling1D().ensure_built((None, 8, 8, 1))
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping2D(((2, 2), (0, 0))).ensure_built((None, 4, 4, 1))
    with pytest.raises(NotImplementedError, match="bilinear"):
        layers.UpSampling2D(interpolation="bilinear")
