"""Functional models saved both ways with Keras 3: .keras, legacy .h5 and .weights.h5.

- Files Keras 3.15 made (tests/fixtures/functional/, see tests/make_functional_saving_fixtures.py)
  load in gpukeras and predict what Keras predicted (1e-6).
- gpukeras's files hold Keras 3's node format; they load back in gpukeras with the same
  outputs, and, where a reference Keras is available (GPUKERAS_KERAS_PYTHON names its
  interpreter), Keras loads them and predicts the same.
"""

from __future__ import annotations

import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import gpukeras
from gpukeras import backend as K
from gpukeras import layers, saving
from gpukeras.models import load_model, model_from_json
from tests.functional_saving_models import (
    BUILDERS,
    batch_for,
    nested_functional,
    nested_output_twice,
    nested_sequential,
    residual,
    siamese,
    two_io,
)
from tests.keras_reference import run_keras_predictions

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "functional")
NAMES = [
    "two_io",
    "residual",
    "inception",
    "siamese",
    "nested_sequential",
    "nested_functional",
    "features",
    "dict_outputs",
    "nested_dict_outputs",
]


def keras_batch(name):
    with np.load(os.path.join(FIXTURES, "predictions.npz")) as data:
        inputs = [data[f"{name}/x{i}"] for i in range(4) if f"{name}/x{i}" in data.files]
        outputs = [data[f"{name}/y{i}"] for i in range(4) if f"{name}/y{i}" in data.files]
    return inputs, outputs


def outputs_of(model, inputs):
    """The model's outputs on ``inputs`` (a list of arrays) as a list of host arrays (a
    dict's by sorted key, as tests/keras_reference_predict.py saves Keras's)."""
    result = model(inputs if len(inputs) > 1 else inputs[0])
    result = [result[key] for key in sorted(result)] if isinstance(result, dict) else result
    return [K.to_host(y) for y in (result if isinstance(result, list) else [result])]


def assert_outputs(model, inputs, expected, atol=1e-6):
    got = outputs_of(model, inputs)
    assert len(got) == len(expected)
    for value, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(value, reference, rtol=0, atol=atol)


# -- Keras's files in gpukeras -------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_made_models_load_and_predict_the_same(backend_name, name, suffix):
    model = load_model(os.path.join(FIXTURES, name + suffix), compile=False)
    assert type(model).__name__ == "Functional"
    inputs, expected = keras_batch(name)
    assert_outputs(model, inputs, expected)


@pytest.mark.parametrize("name", NAMES)
def test_keras_made_weights_files_load_into_the_same_architecture(backend_name, name):
    with zipfile.ZipFile(os.path.join(FIXTURES, name + ".keras")) as archive:
        model = model_from_json(archive.read("config.json").decode())
    inputs, expected = keras_batch(name)
    with pytest.raises(AssertionError):
        assert_outputs(model, inputs, expected)  # fresh weights differ
    model.load_weights(os.path.join(FIXTURES, name + ".weights.h5"))
    assert_outputs(model, inputs, expected)


@pytest.mark.parametrize("name", [name for name in NAMES if name in BUILDERS])
@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_keras_made_weights_load_into_the_model_built_in_gpukeras(name, suffix):
    """The everyday path: the same architecture written with gpukeras, Keras's weights."""
    model = BUILDERS[name]()
    model.load_weights(os.path.join(FIXTURES, name + suffix))
    inputs, expected = keras_batch(name)
    assert_outputs(model, inputs, expected)


@pytest.mark.parametrize("name", ["nested_sequential", "nested_functional"])
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_frozen_nested_base_stays_frozen_after_loading(tmp_path, name, suffix):
    for path in (os.path.join(FIXTURES, name + suffix), tmp_path / f"again{suffix}"):
        model = load_model(path)
        base = model.layers[1]
        assert not base.trainable_weights
        assert not any(layer.trainable for layer in base.layers)
        assert [tuple(w.shape) for w in model.trainable_weights] == [(5, 2), (2,)]
        model.save(tmp_path / f"again{suffix}")


def test_structure_survives_loading():
    model = load_model(os.path.join(FIXTURES, "two_io.keras"), compile=False)
    assert model.input_names == ["left", "right"]
    assert model.output_names == ["cls", "reg"]
    shared = model.get_layer("shared")
    assert len(shared._inbound_nodes) == 2  # one layer, two calls, one set of weights
    assert len(model.weights) == 10


# -- gpukeras's own models (tests/functional_saving_models.py) ----------------------------
@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_gpukeras_models_round_trip(backend_name, tmp_path, name, suffix):
    model = BUILDERS[name]()
    inputs = batch_for(model)
    expected = outputs_of(model, inputs)
    model.save(tmp_path / f"m{suffix}")
    loaded = load_model(tmp_path / f"m{suffix}")
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert_outputs(loaded, inputs, expected, atol=0)
    fresh = BUILDERS[name]()
    fresh.save_weights(tmp_path / "w.weights.h5")  # other values, same structure
    loaded.load_weights(tmp_path / "w.weights.h5")
    assert_outputs(loaded, inputs, outputs_of(fresh, inputs), atol=0)


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_weights_files_round_trip(tmp_path, suffix):
    model, other = nested_sequential(), nested_sequential()
    inputs = batch_for(model)
    model.save_weights(tmp_path / f"w{suffix}")
    other.load_weights(tmp_path / f"w{suffix}")
    assert_outputs(other, inputs, outputs_of(model, inputs), atol=0)


def test_keras3_weights_paths_recurse_into_nested_models(tmp_path):
    nested_sequential().save_weights(tmp_path / "w.weights.h5")
    nested_functional().save_weights(tmp_path / "f.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as file:
        assert "layers/sequential/layers/dense_1/vars/1" in file
        assert "layers/input_layer/vars" in file and "layers/dense/vars/0" in file
    with h5py.File(tmp_path / "f.weights.h5") as file:
        assert "layers/functional/layers/input_layer/vars" in file
        assert "layers/functional/layers/dense_1/vars/0" in file


def test_the_config_is_keras3_node_format(tmp_path):
    model = siamese()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    assert config["class_name"] == "Functional"
    body = config["config"]
    assert body["input_layers"] == [["first", 0, 0], ["second", 0, 0]]
    assert body["output_layers"] == ["cosine", 0, 0]  # one output: one entry, as Keras
    embed = next(entry for entry in body["layers"] if entry["name"] == "embed")
    histories = [node["args"][0]["config"]["keras_history"] for node in embed["inbound_nodes"]]
    assert histories == [["embed_hidden", 0, 0], ["embed_hidden", 1, 0]]
    assert embed["inbound_nodes"][0]["args"][0]["class_name"] == "__keras_tensor__"


def test_nested_functional_outputs_count_calls_from_one(tmp_path):
    config = json.loads(nested_output_twice().to_json())["config"]
    assert config["output_layers"] == {"first": ["inner", 1, 0], "second": ["inner", 2, 0]}


def test_a_layer_shared_with_another_model_is_numbered_within_this_model(tmp_path):
    shared = layers.Dense(2, name="shared")
    a = gpukeras.Input((3,), name="a")
    gpukeras.Model(a, shared(a))  # the shared layer's node 0 belongs to another model
    b = gpukeras.Input((3,), name="b")
    model = gpukeras.Model(b, shared(b), name="second")
    config = json.loads(model.to_json())["config"]
    assert config["output_layers"] == ["shared", 0, 0]  # its node 1 is this model's node 0
    inputs = batch_for(model)
    model.save(tmp_path / "m.keras")
    assert_outputs(load_model(tmp_path / "m.keras"), inputs, outputs_of(model, inputs), atol=0)


def test_saving_a_model_with_ops_on_keras_tensors_is_refused_clearly(tmp_path):
    inp = gpukeras.Input((3,))
    model = gpukeras.Model(inp, layers.Dense(2)(inp) * 2)
    with pytest.raises(NotImplementedError, match="calls the op"):
        model.save(tmp_path / "m.keras")


def test_from_config_gives_a_new_model_with_the_same_graph():
    model = two_io()
    clone = gpukeras.Model.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.get_layer("shared") is not model.get_layer("shared")


# -- gpukeras's files in Keras -------------------------------------------------------------
@pytest.mark.numpy_only("the reference Keras reads files; one backend is enough")
def test_keras_loads_gpukeras_files_and_predicts_the_same(tmp_path):
    jobs, expected = [], {}
    for name, build in BUILDERS.items():
        model = build()
        inputs = batch_for(model, seed=1)
        np.savez(tmp_path / f"{name}_in.npz", **{f"x{i}": x for i, x in enumerate(inputs)})
        expected[name] = outputs_of(model, inputs)
        model.save(tmp_path / f"{name}.keras")
        model.save(tmp_path / f"{name}.h5")
        model.save_weights(tmp_path / f"{name}.weights.h5")
        for kind, model_file, weights in [
            ("keras", f"{name}.keras", None),
            ("h5", f"{name}.h5", None),
            ("weights", f"{name}.keras", f"{name}.weights.h5"),
        ]:
            jobs.append({
                "name": name, "kind": kind, "model": str(tmp_path / model_file),
                "weights": weights and str(tmp_path / weights),
                "inputs": str(tmp_path / f"{name}_in.npz"),
                "out": str(tmp_path / f"{name}_{kind}_out.npz"),
            })  # fmt: skip
    results = run_keras_predictions(jobs, tmp_path)
    for job, outputs in zip(jobs, results, strict=True):
        assert len(outputs) == len(expected[job["name"]]), job
        for value, reference in zip(outputs, expected[job["name"]], strict=True):
            np.testing.assert_allclose(value, reference, rtol=0, atol=1e-6, err_msg=str(job))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_compiled_functional_model_resumes_training_where_it_stopped(tmp_path, suffix):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    model = residual()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    loaded = load_model(tmp_path / f"m{suffix}")
    for each in (model, loaded):
        each.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for mine, theirs in zip(loaded.weights, model.weights, strict=True):
        np.testing.assert_array_equal(K.to_host(mine.value), K.to_host(theirs.value))


class _Holder(gpukeras.Model):
    """A subclassed model holding a functional and a Sequential model in attributes."""

    def __init__(self):
        super().__init__()
        inp = gpukeras.Input((4,))
        self.base = gpukeras.Model(inp, layers.Dense(3)(layers.Dense(5)(inp)))
        self.seq = gpukeras.Sequential([gpukeras.Input((3,)), layers.Dense(2)])

    def call(self, x):
        return self.seq(self.base(x))


def test_models_held_by_a_subclassed_model_are_saved_by_their_layers(tmp_path):
    model, other = _Holder(), _Holder()
    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    model(x), other(x)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as file:
        found = set()
        file.visit(found.add)
    # Keras 3.15 writes these paths for the same model (the Sequential is first met
    # through the model's `layers`, which sorts before `seq`).
    assert {
        "base/layers/dense/vars/1",
        "base/layers/dense_1/vars/0",
        "base/layers/input_layer/vars",
        "layers/sequential/layers/dense/vars/0",
    } <= found
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(K.to_host(other(x)), K.to_host(model(x)))


def keras2_node(node):
    """Keras 3's ``{'args': [tensor or [tensors]], 'kwargs'}`` as Keras 2's list form."""
    first = node["args"][0]
    tensors = first if isinstance(first, list) else [first]
    return [[*t["config"]["keras_history"], node["kwargs"]] for t in tensors]


@pytest.mark.parametrize("class_name", ["Functional", "Model"])
def test_keras2_style_h5_files_load(tmp_path, class_name):
    path = tmp_path / "keras2.h5"
    with open(os.path.join(FIXTURES, "residual.h5"), "rb") as source:
        path.write_bytes(source.read())
    with h5py.File(path, "a") as file:
        model_config = json.loads(file.attrs["model_config"])
        model_config["class_name"] = class_name
        for entry in model_config["config"]["layers"]:
            entry["inbound_nodes"] = [keras2_node(node) for node in entry["inbound_nodes"]]
        model_config["config"]["input_layers"] = [model_config["config"]["input_layers"]]
        model_config["config"]["output_layers"] = [model_config["config"]["output_layers"]]
        file.attrs["model_config"] = json.dumps(model_config)
        file.attrs["keras_version"] = "2.4.0"
    inputs, expected = keras_batch("residual")
    assert_outputs(load_model(path, compile=False), inputs, expected)


class CustomModel(gpukeras.Model):
    """A Model subclass made with inputs and outputs (keras.io's custom train_step guide)."""

    def train_step(self, data):
        return super().train_step(data)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_model_subclass_made_with_inputs_and_outputs_loads_as_its_class(
    tmp_path, suffix, custom_object_registry
):
    inp = gpukeras.Input((3,), name="x")
    model = CustomModel(inp, layers.Dense(2, name="out")(inp))
    model.save(tmp_path / f"m{suffix}")
    with pytest.raises(saving.FileFormatError, match="custom_objects=\\{'CustomModel'"):
        load_model(tmp_path / f"m{suffix}")
    loaded = load_model(tmp_path / f"m{suffix}", custom_objects={"CustomModel": CustomModel})
    assert type(loaded) is CustomModel
    inputs = batch_for(model)
    assert_outputs(loaded, inputs, outputs_of(model, inputs), atol=0)
    saving.register_keras_serializable(package="tests")(CustomModel)
    model.save(tmp_path / f"again{suffix}")
    assert type(load_model(tmp_path / f"again{suffix}")) is CustomModel


def test_dict_outputs_of_a_call_are_numbered_by_sorted_key_as_keras_does():
    config = json.loads(BUILDERS["nested_dict_outputs"]().to_json())["config"]
    histories = {
        entry["name"]: entry["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
        for entry in config["layers"]
        if entry["name"] in ("hz", "ha")
    }
    # Keras 3.15 writes these for the same model: 'alpha' is output 0, 'zeta' output 1.
    assert histories == {"hz": ["inner", 0, 1], "ha": ["inner", 0, 0]}


class Block(gpukeras.Model):
    """A subclassed model used as a layer of a functional model."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units)

    def call(self, x):
        return self.dense(x) * 2

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_subclassed_model_inside_a_functional_model_round_trips(tmp_path, suffix):
    x = gpukeras.Input((4,), name="x")
    model = gpukeras.Model(x, layers.Dense(2, name="head")(Block(3, name="block")(x)))
    model.save(tmp_path / f"m{suffix}")
    loaded = load_model(tmp_path / f"m{suffix}", custom_objects={"Block": Block})
    assert type(loaded.get_layer("block")) is Block and loaded.get_layer("block").units == 3
    inputs = batch_for(model)
    assert_outputs(loaded, inputs, outputs_of(model, inputs), atol=0)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as file:
        assert "layers/block/dense/vars/1" in file  # Keras 3's path: the attribute's name
