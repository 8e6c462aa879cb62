"""``image_data_format`` from ``$KERAS_HOME/keras.json``: channels-first Keras 0.x
convnets run unchanged; a bad file is ignored or refused clearly."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras.backend import _image_format


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setitem(_image_format._state, "format", None)  # read the file afresh
    return tmp_path


def write_config(home, body) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    (home / "keras.json").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"image_data_format": "channels_first"}, "channels_first"),
        ({"image_data_format": "channels_last", "floatx": "float32"}, "channels_last"),
        ({"image_dim_ordering": "th"}, "channels_first"),
        ({"image_dim_ordering": "tf"}, "channels_last"),
        ({"backend": "tensorflow"}, "channels_last"),
    ],
)
def test_keras_json_sets_the_default_channel_order(keras_home, body, expected):
    write_config(keras_home, body)
    assert K.image_data_format() == expected
    assert K.image_dim_ordering() == ("th" if expected == "channels_first" else "tf")


def test_no_keras_json_means_channels_last(keras_home):
    assert K.image_data_format() == "channels_last"
    assert keras.layers.Conv2D(2, 3).data_format == "channels_last"


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "x" * 70_000])
def test_an_unreadable_keras_json_is_ignored_with_a_warning(keras_home, body):
    write_config(keras_home, body)
    with pytest.warns(UserWarning, match="Ignoring .*keras.json"):
        assert K.image_data_format() == "channels_last"


def test_a_bad_value_in_keras_json_names_the_file_and_the_value(keras_home):
    write_config(keras_home, {"image_data_format": "NCHW"})
    with pytest.raises(ValueError, match=r"keras.json.*image_data_format.*'NCHW'"):
        K.image_data_format()


def test_set_image_data_format_and_its_refusals(keras_home):
    K.set_image_data_format("channels_first")
    assert keras.layers.MaxPooling2D().data_format == "channels_first"
    assert keras.layers.Flatten().data_format == "channels_first"
    K.set_image_dim_ordering("tf")
    assert K.image_data_format() == "channels_last"
    with pytest.raises(ValueError, match="data_format"):
        K.set_image_data_format("nchw")
    with pytest.raises(ValueError, match="dim_ordering"):
        K.set_image_dim_ordering("theano")


def test_keras_0x_channels_first_convnet_trains_from_keras_json(keras_home):
    write_config(keras_home, {"image_dim_ordering": "th", "floatx": "float32"})
    rng = np.random.RandomState(3)
    labels = rng.randint(0, 2, 128)
    x = rng.rand(128, 1, 8, 8).astype("float32")
    x[labels == 1, 0, :4] += 1.0  # class 1: a bright top half (rows are axis 2: channels first)
    y = keras.utils.to_categorical(labels, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from gpukeras.layers.convolutional import Convolution2D, MaxPooling2D  # noqa: PLC0415
        from gpukeras.layers.core import Activation, Dense, Flatten  # noqa: PLC0415

        model = keras.models.Sequential()
        model.add(Convolution2D(4, 3, 3, border_mode="same", input_shape=(1, 8, 8)))
        model.add(Activation("relu"))
        model.add(MaxPooling2D(pool_size=(2, 2)))
        model.add(Flatten())
        model.add(Dense(2))
        model.add(Activation("softmax"))
        model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        history = model.fit(x, y, batch_size=16, nb_epoch=6, verbose=0)
    assert model.layers[0].data_format == "channels_first"
    assert model.layers[0].compute_output_shape((None, 1, 8, 8)) == (None, 4, 8, 8)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] * 0.9
