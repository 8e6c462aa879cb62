"""layers.Lambda: trains, infers its shape, saves its function by name, and loads it only
from the caller's custom_objects (a file never supplies code)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import layers, ops
from gpukeras.saving import FileFormatError


def scaled_tanh(x, factor=1.0):
    return ops.tanh(x) * factor


def double_width(input_shape):
    return (input_shape[0], input_shape[-1] * 2)


def twice(x):
    return ops.concatenate([x, x], axis=-1)


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    return x, y


def _model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            layers.Input((4,)),
            layers.Dense(3),
            layers.Lambda(scaled_tanh, arguments={"factor": 2.0}),
            layers.Dense(2),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


def test_lambda_computes_its_function_with_arguments():
    x, _ = _data()
    out = layers.Lambda(scaled_tanh, arguments={"factor": 3.0})(x)
    np.testing.assert_allclose(keras.backend.to_host(out), np.tanh(x) * 3.0, rtol=1e-6)


def test_lambda_in_a_sequential_trains():
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=8, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_lambda_output_shape_inferred_given_or_computed():
    assert layers.Lambda(twice).compute_output_shape((None, 3)) == (None, 6)
    assert layers.Lambda(twice, output_shape=(6,)).compute_output_shape((None, 3)) == (None, 6)
    by_function = layers.Lambda(twice, output_shape=double_width)
    assert by_function.compute_output_shape((None, 3)) == (None, 6)
    model = keras.Sequential([layers.Input((3,)), layers.Lambda(twice)])
    assert model.output_shape == (None, 6)


def test_lambda_rejects_bad_arguments():
    with pytest.raises(TypeError, match="function=3"):
        layers.Lambda(3)
    with pytest.raises(ValueError, match="output_shape"):
        layers.Lambda(twice, output_shape="wide")


def _lambda_config(path):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return next(e for e in config["config"]["layers"] if e["class_name"] == "Lambda")


def test_lambda_is_saved_by_name_never_as_code(tmp_path):
    model = _model()
    path = tmp_path / "m.keras"
    model.save(path)
    entry = _lambda_config(path)
    assert entry["config"]["function"]["config"] == "scaled_tanh"
    assert entry["config"]["function"]["class_name"] == "function"
    assert entry["config"]["arguments"] == {"factor": 2.0}
    assert "code" not in json.dumps(entry)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_loading_a_lambda_needs_its_function_in_custom_objects(tmp_path, suffix):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    with pytest.raises(FileFormatError, match=r"scaled_tanh.*custom_objects"):
        keras.saving.load_model(path)
    loaded = keras.saving.load_model(path, custom_objects={"scaled_tanh": scaled_tanh})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-6)


def test_a_function_of_another_name_is_not_taken_for_the_saved_one(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    with pytest.raises(FileFormatError, match="scaled_tanh"):
        keras.saving.load_model(path, custom_objects={"twice": twice})


def test_model_from_json_resolves_the_function_from_custom_objects():
    model = _model()
    text = model.to_json()
    with pytest.raises(FileFormatError, match="scaled_tanh"):
        keras.saving.model_from_json(text)
    rebuilt = keras.saving.model_from_json(text, custom_objects={"scaled_tanh": scaled_tanh})
    assert rebuilt.layers[1].function is scaled_tanh


def test_a_keras_written_lambda_loads_only_with_its_function_in_custom_objects():
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    path = fixtures / "keras_lambda.keras"  # tests/fixtures/make_lambda_fixture.py
    with pytest.raises(FileFormatError, match=r"function 'scaled_tanh'.*custom_objects"):
        keras.saving.load_model(path)
    model = keras.saving.load_model(path, custom_objects={"scaled_tanh": scaled_tanh})
    with np.load(fixtures / "keras_lambda.npz") as data:
        np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["predictions"], 1e-6)


def test_lambda_config_leaves_out_unset_output_shape_and_mask_as_keras_does(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    entry = _lambda_config(path)
    assert "output_shape" not in entry["config"] and "mask" not in entry["config"]
