"""register_keras_serializable, get_custom_objects and custom_object_scope: your own classes
and functions by name, found when loading a model without custom_objects."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from gpukeras import _custom_objects, saving, utils
from gpukeras.layers import Dense
from gpukeras.models import Sequential, load_model


@pytest.fixture(autouse=True)
def _clean_registry(custom_object_registry):
    """Every test here registers classes: the registry is restored after each."""


class ScaledDense(Dense):
    """A Dense whose output is multiplied by ``scale`` (a custom layer with its own argument)."""

    def __init__(self, units, scale=2.0, **kwargs):
        super().__init__(units, **kwargs)
        self.scale = scale

    def forward(self, inputs, training=False):
        return super().forward(inputs, training) * self.scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def scaled_model():
    model = Sequential([ScaledDense(3, scale=0.5, input_shape=(4,), name="scaled")])
    return model, np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)


def test_registering_names_the_object_package_and_name():
    registered = saving.register_keras_serializable()(ScaledDense)
    assert registered is ScaledDense
    assert saving.get_custom_objects()["Custom>ScaledDense"] is ScaledDense
    assert saving.get_registered_name(ScaledDense) == "Custom>ScaledDense"
    assert saving.get_registered_object("Custom>ScaledDense") is ScaledDense
    saving.register_keras_serializable(package="mine", name="Scaled")(ScaledDense)
    assert saving.get_registered_name(ScaledDense) == "mine>Scaled"
    assert saving.get_registered_name(Dense) == "Dense"
    assert saving.get_registered_object("Nope", module_objects={"Nope": 1}) == 1
    assert utils.register_keras_serializable is saving.register_keras_serializable
    assert utils.get_custom_objects() is saving.get_custom_objects()


def test_a_class_without_get_config_is_refused():
    class NoConfig:
        pass

    with pytest.raises(ValueError, match="does not have a get_config.*NoConfig"):
        saving.register_keras_serializable()(NoConfig)


@pytest.mark.parametrize("argument", [{"package": ""}, {"package": 3}, {"name": ""}])
def test_bad_package_or_name_is_refused(argument):
    with pytest.raises(TypeError, match=f"Received: {next(iter(argument))}="):
        saving.register_keras_serializable(**argument)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_registered_layer_loads_without_custom_objects(tmp_path, suffix):
    saving.register_keras_serializable(package="tests")(ScaledDense)
    model, x = scaled_model()
    path = tmp_path / f"m{suffix}"
    model.save(path)
    loaded = load_model(path)
    assert type(loaded.layers[0]) is ScaledDense and loaded.layers[0].scale == 0.5
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_registered_layer_is_saved_under_its_registered_name(tmp_path):
    saving.register_keras_serializable(package="tests")(ScaledDense)
    model, _ = scaled_model()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        entry = json.loads(archive.read("config.json"))["config"]["layers"][-1]
    assert entry["registered_name"] == "tests>ScaledDense"
    assert entry["module"] == __name__


def test_an_unregistered_layer_needs_custom_objects_or_a_scope(tmp_path):
    model, x = scaled_model()
    model.save(tmp_path / "m.keras")
    with pytest.raises(saving.FileFormatError, match="unknown layer class 'ScaledDense'"):
        load_model(tmp_path / "m.keras")
    with saving.custom_object_scope({"ScaledDense": ScaledDense}):
        loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(saving.FileFormatError, match="unknown layer class"):
        load_model(tmp_path / "m.keras")  # the scope has ended
    saving.get_custom_objects()["ScaledDense"] = ScaledDense
    assert type(load_model(tmp_path / "m.keras").layers[0]) is ScaledDense


def test_inner_scopes_and_passed_custom_objects_win():
    class Other(ScaledDense):
        pass

    with saving.custom_object_scope({"X": ScaledDense}):
        with saving.CustomObjectScope({"X": Other}):
            assert saving.get_registered_object("X") is Other
        assert saving.get_registered_object("X") is ScaledDense
        assert _custom_objects.with_current({"X": Dense})["X"] is Dense
    assert saving.get_registered_object("X") is None


def test_a_registered_loss_function_comes_back_when_compiling(tmp_path):
    @saving.register_keras_serializable(package="tests")
    def halved_mse(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean(axis=-1) / 2

    model, x = scaled_model()
    model.compile(optimizer="sgd", loss=halved_mse)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", custom_objects={"ScaledDense": ScaledDense})
    assert loaded.loss.fn is halved_mse
    y = np.ones((2, 3), dtype="float32")
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
