"""data_format='channels_first' (and Keras 1's dim_ordering='th') on every conv, pooling,
padding, cropping, upsampling, flatten and global pooling layer: with the same weights,
its output, input gradient and weight gradients are the channels-last ones transposed;
the default follows keras.json's image_data_format; a channels-first convnet trains
exactly as its channels-last twin."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers
from gpukeras.backend import _image_format

RNG = np.random.default_rng(4)

#: name -> (factory taking data_format, channels-last input shape, output has channels)
LAYERS = {
    "Conv1D": (lambda f: layers.Conv1D(3, 2, strides=2, padding="same", data_format=f), (2, 7, 4)),
    "Conv2D": (lambda f: layers.Conv2D(3, (2, 3), dilation_rate=(1, 2), data_format=f),
               (2, 6, 7, 2)),
    "Convolution2D": (lambda f: layers.Convolution2D(3, 3, 3, data_format=f), (2, 5, 5, 2)),
    "Conv2DTranspose": (lambda f: layers.Conv2DTranspose(2, 3, strides=2, data_format=f),
                        (2, 3, 4, 3)),
    "SeparableConv2D": (lambda f: layers.SeparableConv2D(4, 3, depth_multiplier=2, data_format=f),
                        (2, 5, 6, 3)),
    "DepthwiseConv2D": (lambda f: layers.DepthwiseConv2D(3, padding="same", data_format=f),
                        (2, 5, 4, 3)),
    "MaxPooling1D": (lambda f: layers.MaxPooling1D(2, data_format=f), (2, 7, 3)),
    "AveragePooling1D": (lambda f: layers.AveragePooling1D(3, 2, padding="same", data_format=f),
                         (2, 7, 3)),
    "MaxPooling2D": (lambda f: layers.MaxPooling2D((2, 3), data_format=f), (2, 6, 7, 3)),
    "AveragePooling2D": (lambda f: layers.AveragePooling2D(3, 2, padding="same", data_format=f),
                         (2, 5, 6, 2)),
    "GlobalMaxPooling1D": (lambda f: layers.GlobalMaxPooling1D(data_format=f), (2, 5, 3)),
    "GlobalAveragePooling1D": (lambda f: layers.GlobalAveragePooling1D(data_format=f), (2, 5, 3)),
    "GlobalMaxPooling2D": (lambda f: layers.GlobalMaxPooling2D(data_format=f), (2, 4, 5, 3)),
    "GlobalAveragePooling2D": (lambda f: layers.GlobalAveragePooling2D(data_format=f),
                               (2, 4, 5, 3)),
    "GlobalAveragePooling2D-keepdims": (
        lambda f: layers.GlobalAveragePooling2D(data_format=f, keepdims=True), (2, 4, 5, 3)),
    "ZeroPadding2D": (lambda f: layers.ZeroPadding2D(((1, 2), (0, 1)), data_format=f),
                      (2, 3, 4, 2)),
    "Cropping2D": (lambda f: layers.Cropping2D(((1, 0), (1, 2)), data_format=f), (2, 5, 6, 2)),
    "Cropping3D": (lambda f: layers.Cropping3D(((1, 0), (0, 1), (1, 1)), data_format=f),
                   (2, 3, 4, 5, 2)),
    "UpSampling2D": (lambda f: layers.UpSampling2D((2, 3), data_format=f), (2, 3, 2, 2)),
    "Flatten": (lambda f: layers.Flatten(data_format=f), (2, 3, 4, 2)),
    "SpatialDropout2D": (lambda f: layers.SpatialDropout2D(0.0, data_format=f), (2, 3, 4, 2)),
}  # fmt: skip


def to_first(x):
    """Channels-last array -> channels-first (the channel axis moves to 1)."""
    return np.moveaxis(x, -1, 1)


def comparable(name, out_last):
    """The channels-first output expected from a channels-last one."""
    if name.startswith("Flatten") or (name.startswith("Global") and out_last.ndim == 2):
        return out_last  # Flatten orders features channels-last either way, as Keras does
    return to_first(out_last)


@pytest.mark.parametrize("name", list(LAYERS))
def test_channels_first_is_channels_last_transposed(xp, name):
    factory, shape = LAYERS[name]
    last, first = factory("channels_last"), factory("channels_first")
    assert first.data_format == "channels_first"
    x = RNG.normal(size=shape)
    x_last, x_first = K.to_device(x), K.to_device(np.ascontiguousarray(to_first(x)))
    last.ensure_built(x_last.shape)
    first.ensure_built(x_first.shape)
    first.set_weights(last.get_weights())  # Keras's weight layout does not depend on it
    out_last = K.to_host(last.forward(x_last, training=True))
    out_first = K.to_host(first.forward(x_first, training=True))
    np.testing.assert_allclose(out_first, comparable(name, out_last), rtol=1e-5, atol=1e-6)
    assert tuple(first.compute_output_shape(x_first.shape)) == out_first.shape

    grad_last = RNG.normal(size=out_last.shape).astype(out_last.dtype)
    grad_first = np.ascontiguousarray(comparable(name, grad_last))
    dx_last = K.to_host(last.backward(K.to_device(grad_last)))
    dx_first = K.to_host(first.backward(K.to_device(grad_first)))
    np.testing.assert_allclose(dx_first, to_first(dx_last), rtol=1e-5, atol=1e-6)
    for w_last, w_first in zip(last.trainable_weights, first.trainable_weights):
        np.testing.assert_allclose(K.to_host(w_first.grad), K.to_host(w_last.grad), rtol=1e-4,
                                   atol=1e-5)  # fmt: skip


@pytest.fixture
def channels_first_json(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "keras.json").write_text('{"image_data_format": "channels_first"}')
    monkeypatch.setitem(_image_format._state, "format", None)
    yield
    monkeypatch.setitem(_image_format._state, "format", None)


@pytest.mark.parametrize("name", list(LAYERS))
def test_the_default_data_format_is_keras_json_s(channels_first_json, name):
    factory, _ = LAYERS[name]
    assert factory(None).data_format == "channels_first"
    assert factory(None).get_config()["data_format"] == "channels_first"


@pytest.mark.parametrize("make", [
    lambda: layers.Convolution2D(4, 3, 3, dim_ordering="th"),
    lambda: layers.Convolution1D(4, 3, dim_ordering="th"),
    lambda: layers.MaxPooling2D(dim_ordering="th"),
    lambda: layers.AveragePooling1D(dim_ordering="th"),
    lambda: layers.ZeroPadding2D((1, 1), dim_ordering="th"),
    lambda: layers.UpSampling2D((2, 2), dim_ordering="th"),
    lambda: layers.Cropping2D(((1, 1), (1, 1)), dim_ordering="th"),
    lambda: layers.Cropping3D(1, dim_ordering="th"),
    lambda: layers.GlobalAveragePooling2D(dim_ordering="th"),
    lambda: layers.GlobalMaxPooling2D(dim_ordering="th"),
    lambda: layers.SeparableConv2D(2, 3, dim_ordering="th"),
])  # fmt: skip
def test_keras_1_dim_ordering_th_is_channels_first_with_a_warning(make):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = make()
    assert layer.data_format == "channels_first"
    assert any("dim_ordering" in str(w.message) for w in caught)


def convnet(data_format: str) -> keras.models.Sequential:
    shape = (1, 8, 8) if data_format == "channels_first" else (8, 8, 1)
    model = keras.models.Sequential()
    model.add(layers.ZeroPadding2D(1, data_format=data_format, input_shape=shape))
    model.add(layers.Conv2D(4, 3, activation="relu", data_format=data_format))
    model.add(layers.MaxPooling2D(2, data_format=data_format))
    model.add(layers.UpSampling2D(2, data_format=data_format))
    model.add(layers.Cropping2D(1, data_format=data_format))
    model.add(layers.SeparableConv2D(3, 3, data_format=data_format))
    model.add(layers.AveragePooling2D(2, data_format=data_format))
    model.add(layers.Flatten(data_format=data_format))
    model.add(layers.Dense(2, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    return model


def test_a_channels_first_convnet_trains_exactly_as_its_channels_last_twin(backend_name):
    x = RNG.normal(size=(32, 8, 8, 1)).astype("float32")
    y = keras.utils.to_categorical((x[:, :4].mean(axis=(1, 2, 3)) > 0).astype(int), 2)
    last, first = convnet("channels_last"), convnet("channels_first")
    first.set_weights(last.get_weights())
    history_last = last.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0).history
    history_first = first.fit(to_first(x), y, epochs=4, batch_size=8, shuffle=False,
                              verbose=0).history  # fmt: skip
    np.testing.assert_allclose(history_first["loss"], history_last["loss"], rtol=1e-4)
    assert history_first["loss"][-1] < history_first["loss"][0]
    for w_first, w_last in zip(first.get_weights(), last.get_weights()):
        np.testing.assert_allclose(w_first, w_last, rtol=1e-3, atol=1e-5)


def test_dim_ordering_default_is_keras_json_s(channels_first_json):
    with pytest.warns(DeprecationWarning, match="dim_ordering"):
        assert layers.ZeroPadding2D(dim_ordering="default").data_format == "channels_first"
    with pytest.warns(DeprecationWarning, match="dim_ordering"):
        assert layers.Conv2D(2, 3, dim_ordering="default").data_format == "channels_first"
