"""A plain function of ``gpukeras.ops`` as ``activation=``: trained through the tape, saved
by name, loaded only through ``custom_objects``."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import activations, ops
from gpukeras import backend as K
from gpukeras.saving import FileFormatError
from tests.gradcheck import numerical_gradient


def scaled_swish(x):
    return 1.5 * x * ops.sigmoid(x)


def test_a_function_activation_has_its_tape_derivative(xp):
    activation = activations.get(scaled_swish)
    x = K.to_device(np.random.default_rng(0).standard_normal((3, 4)), "float64")
    grad = K.to_device(np.random.default_rng(1).standard_normal((3, 4)), "float64")
    got = activation.backward(x, activation.forward(x), grad)

    def value():
        return float(K.to_host(ops.sum(activation.forward(x) * grad)))

    np.testing.assert_allclose(K.to_host(got), numerical_gradient(value, x), rtol=1e-6)


@pytest.mark.parametrize("layer", ["dense", "conv"])
def test_a_layer_with_a_function_activation_trains_like_its_call_twin(xp, layer):
    """The same weights and data give the same training as a call() of the same maths."""
    rng = np.random.default_rng(2)
    shape = (16, 6) if layer == "dense" else (16, 5, 5, 2)
    x = rng.standard_normal(shape).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")

    def model(activation):
        keras.utils.set_random_seed(0)
        if layer == "dense":
            first = keras.layers.Dense(4, activation=activation)
        else:
            first = keras.layers.Conv2D(3, 3, activation=activation)
        stack = [keras.Input(shape[1:]), first, keras.layers.Flatten(), keras.layers.Dense(1)]
        built = keras.Sequential(stack)
        built.compile(keras.optimizers.SGD(0.05), "mse")
        return built

    with_function = model(scaled_swish)
    reference = model(None)
    reference.layers[0].activation = activations.get("linear")

    class Twin(keras.Model):  # the reference's first layer, then the function, by ops
        def __init__(self):
            super().__init__()
            self.inner = reference

        def call(self, inputs):
            h = scaled_swish(self.inner.layers[0](inputs))
            for later in self.inner.layers[1:]:
                h = later(h)
            return h

    twin = Twin()
    twin.compile(keras.optimizers.SGD(0.05), "mse")
    a = with_function.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    b = twin.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)


def test_a_function_activation_is_saved_by_name_and_needs_custom_objects(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=scaled_swish)])
    config = model.layers[0].get_config()["activation"]
    assert config["class_name"] == "function" and config["config"] == "scaled_swish"
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises((FileFormatError, ValueError), match="scaled_swish"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"scaled_swish": scaled_swish})
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
