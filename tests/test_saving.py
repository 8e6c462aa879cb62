"""gpukeras.saving: round trips, Keras's layouts, Keras-written files, atomic writes, errors.

Hostile files and the fuzz test live in tests/test_saving_hostile.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest

import gpukeras
from gpukeras import optimizers, saving
from gpukeras.layers import Activation, Dense, Dropout, Flatten, Input, Reshape
from gpukeras.models import Sequential, load_model, model_from_json
from gpukeras.saving import FileFormatError, _api, _h5safe, _hdf5, _keras_zip

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
MODEL_NAMES = ["m.h5", "m.hdf5", "m.keras"]


def make_model(compile_it=False, dropout=0.1):
    model = Sequential([Dense(3, input_dim=4, activation="relu"), Dropout(dropout), Dense(2)])
    if compile_it:
        model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    return model


def make_mixed_model():
    model = Sequential(
        [
            Input((2, 3)),
            Flatten(),
            Dense(5, activation="relu", kernel_regularizer="l2"),
            Dropout(0.0),
            Reshape((5, 1)),
            Flatten(),
            Dense(2),
            Activation("softmax"),
        ]
    )
    model.compile(
        optimizer=optimizers.SGD(0.1, momentum=0.9),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def randomize(model, seed=1):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") for w in model.weights])


def data(seed=0, n=16):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4), dtype="float32")
    y = rng.random((n, 2), dtype="float32")
    return x, y


def assert_same_weights(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(a, e)


# -- round trips ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["m.weights.h5", "m.h5", "m.hdf5"])
def test_save_weights_round_trip(tmp_path, name, backend_name):
    source, target = make_model(), make_model()
    randomize(source)
    path = tmp_path / name
    source.save_weights(path)
    target.load_weights(path)
    assert_same_weights(target.get_weights(), source.get_weights())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_load_weights_reads_full_model_files(tmp_path, name, backend_name):
    source, target = make_model(compile_it=True), make_model()
    randomize(source)
    source.save(tmp_path / name)
    target.load_weights(tmp_path / name)
    assert_same_weights(target.get_weights(), source.get_weights())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_and_load_model_round_trip(tmp_path, name, backend_name):
    source = make_mixed_model()
    randomize(source)
    x = np.random.default_rng(2).random((3, 2, 3), dtype="float32")
    path = tmp_path / name
    source.save(path)
    loaded = load_model(path)
    assert type(loaded) is Sequential and loaded.name == source.name
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in source.layers]
    assert loaded.get_config() == source.get_config()
    assert_same_weights(loaded.get_weights(), source.get_weights())
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), source.predict(x, verbose=0))
    assert type(loaded.optimizer) is optimizers.SGD
    assert loaded.optimizer.get_config() == source.optimizer.get_config()
    assert loaded.get_compile_config()["loss"] == "categorical_crossentropy"
    # Values come back on the active backend.
    assert isinstance(loaded.weights[0].value, type(source.weights[0].value))


@pytest.mark.parametrize("name", MODEL_NAMES + ["m.weights.h5"])
def test_training_resumes_where_it_stopped(tmp_path, name, backend_name):
    """Save after one epoch, load, train on: same weights as never stopping (Adam state)."""
    x, y = data()
    straight = make_model(compile_it=True, dropout=0.0)
    interrupted = make_model(compile_it=True, dropout=0.0)
    interrupted.set_weights(straight.get_weights())
    straight.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    interrupted.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / name
    if name.endswith(".weights.h5"):
        interrupted.save_weights(path)
        resumed = make_model(compile_it=True, dropout=0.0)
        resumed.load_weights(path)
    else:
        interrupted.save(path)
        resumed = load_model(path)
    assert resumed.optimizer.iterations == 4
    resumed.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_compile_false_leaves_the_model_uncompiled(tmp_path):
    make_model(compile_it=True).save(tmp_path / "m.keras")
    model = load_model(tmp_path / "m.keras", compile=False)
    assert not model.compiled and getattr(model, "optimizer", None) is None


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_weighted_metrics_come_back_from_the_file(tmp_path, name):
    model = make_model()
    model.compile("adam", "mse", metrics=["mae"], weighted_metrics=["mse"])
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    y = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")
    weights = np.linspace(0.5, 2.0, 8).astype("float32")
    model.fit(x, y, sample_weight=weights, epochs=1, verbose=0)
    model.save(tmp_path / name)
    loaded = load_model(tmp_path / name)
    assert loaded.get_compile_config()["weighted_metrics"] == ["mse"]
    expected = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    got = loaded.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    assert got.keys() == expected.keys() == {"loss", "mae", "mse"}
    np.testing.assert_allclose(list(got.values()), list(expected.values()), rtol=1e-6)


def test_uncompiled_model_round_trip(tmp_path):
    source = make_model()
    source.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as file:
        assert "training_config" not in file.attrs and "optimizer_weights" not in file
    loaded = load_model(tmp_path / "m.h5")
    assert not loaded.compiled
    assert_same_weights(loaded.get_weights(), source.get_weights())


def test_to_json_and_model_from_json():
    source = make_mixed_model()
    text = source.to_json()
    config = json.loads(text)
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    rebuilt = model_from_json(text)
    assert rebuilt.get_config() == source.get_config()
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in source.weights]
    assert json.loads(source.to_json(indent=2)) == config


def test_load_weights_by_name(tmp_path):
    source = Sequential([Dense(3, input_dim=4, name="a"), Dense(2, name="b")])
    randomize(source)
    source.save_weights(tmp_path / "m.h5")
    target = Sequential([Dense(3, input_dim=4, name="a"), Dense(3, name="c"), Dense(2, name="b")])
    before = target.get_weights()
    target.load_weights(tmp_path / "m.h5", by_name=True)
    after = target.get_weights()
    assert_same_weights(after[:2], source.get_weights()[:2])
    assert_same_weights(after[2:4], before[2:4])  # "c" is not in the file
    assert_same_weights(after[4:], source.get_weights()[2:])


def test_by_name_is_refused_for_keras3_layout(tmp_path):
    make_model().save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="by_name"):
        make_model().load_weights(tmp_path / "m.weights.h5", by_name=True)


def test_load_weights_ignores_optimizer_state_of_uncompiled_model(tmp_path):
    source = make_model(compile_it=True)
    source.fit(*data(), epochs=1, verbose=0)
    source.save_weights(tmp_path / "m.weights.h5")
    target = make_model()
    target.load_weights(tmp_path / "m.weights.h5")
    assert_same_weights(target.get_weights(), source.get_weights())


# -- layouts ---------------------------------------------------------------------------
def test_keras3_weights_layout(tmp_path):
    model = make_model(compile_it=True)
    model.fit(*data(), epochs=1, verbose=0)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    kernel, bias = model.layers[0].weights
    with h5py.File(path, "r") as file:
        assert sorted(file["layers"]) == ["dense", "dense_1", "dropout"]
        np.testing.assert_array_equal(file["layers/dense/vars/0"][()], kernel.numpy())
        np.testing.assert_array_equal(file["layers/dense/vars/1"][()], bias.numpy())
        assert len(file["layers/dropout/vars"]) == 0
        assert "vars" in file
        optimizer = file["optimizer/vars"]
        assert len(optimizer) == len(model.optimizer.variables)
        assert int(optimizer["0"][()]) == model.optimizer.iterations


def test_keras3_keys_follow_class_names_not_layer_names():
    layers = [Dense(1, name="first"), Dropout(0.5), Dense(1, name="second")]

    class Conv2DTranspose:
        pass

    assert _hdf5.keras3_keys(layers) == ["dense", "dropout", "dense_1"]
    assert _hdf5.keras3_keys([Conv2DTranspose()]) == ["conv2d_transpose"]


def test_legacy_weights_layout(tmp_path):
    model = make_model()
    path = tmp_path / "m.h5"
    model.save_weights(path)
    names = [layer.name for layer in model.layers]
    with h5py.File(path, "r") as file:
        assert _h5safe.read_string_list(file, "layer_names") == names
        assert file.attrs["keras_version"] in ("3.15.1", b"3.15.1")
        dense = model.layers[0]
        weight_names = _h5safe.read_string_list(file[dense.name], "weight_names")
        assert weight_names == [f"{dense.name}/kernel:0", f"{dense.name}/bias:0"]
        np.testing.assert_array_equal(
            file[dense.name][weight_names[0]][()], dense.weights[0].numpy()
        )
        assert _h5safe.read_string_list(file[model.layers[1].name], "weight_names") == []


def test_full_model_layout(tmp_path):
    model = make_model(compile_it=True)
    model.fit(*data(), epochs=1, verbose=0)
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path, "r") as file:
        assert set(file.attrs) >= {"keras_version", "backend", "model_config", "training_config"}
        config = json.loads(file.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert config["config"]["name"] == model.get_config()["name"]
        # Legacy serialization (what Keras 3's HDF5 loader accepts): only class_name + config.
        for entry in config["config"]["layers"]:
            assert set(entry) == {"class_name", "config"}
        training = json.loads(file.attrs["training_config"])
        assert training["loss"] == "mse"
        assert training["optimizer_config"]["class_name"] == "Adam"
        group = file["model_weights"]
        assert _h5safe.read_string_list(group, "layer_names") == [x.name for x in model.layers]
        names = _h5safe.read_string_list(file["optimizer_weights"], "weight_names")
        assert names == [f"{model.optimizer.name}/{n}" for n in model.optimizer.variable_names]
        assert int(file["optimizer_weights"][names[0]][()]) == model.optimizer.iterations


def test_keras_zip_layout(tmp_path):
    model = make_model(compile_it=True)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["keras_version"] == _hdf5.KERAS_VERSION
    assert config["class_name"] == "Sequential" and config["registered_name"] is None
    assert config["build_config"] == {"input_shape": [None, 4]}
    layers = config["config"]["layers"]
    assert layers[0]["class_name"] == "InputLayer"
    assert all("batch_input_shape" not in entry["config"] for entry in layers)
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert config["compile_config"]["loss"] == "mse"


def test_long_attribute_lists_are_chunked(tmp_path):
    names = [f"layer_{i:05d}_" + "x" * 200 for i in range(600)]
    with h5py.File(tmp_path / "a.h5", "w") as file:
        _h5safe.write_string_list(file, "layer_names", names)
        assert "layer_names" not in file.attrs and "layer_names1" in file.attrs
        assert _h5safe.read_string_list(file, "layer_names") == names


# -- files written by Keras 3 ----------------------------------------------------------
KERAS = np.load(os.path.join(FIXTURES, "keras_predictions.npz"))


@pytest.mark.parametrize(
    "name", ["keras_full.h5", "keras.weights.h5", "keras_legacy_weights.h5", "keras_model.keras"]
)
def test_load_weights_from_keras_files(name, backend_name):
    expected = np.load(os.path.join(FIXTURES, "keras_saved_weights.npz"))
    model = Sequential(
        [Dense(3, input_dim=4, activation="relu"), Dropout(0.1), Dense(2, activation="softmax")]
    )
    model.load_weights(os.path.join(FIXTURES, name))
    assert_same_weights(model.get_weights(), [expected[f"w{i}"] for i in range(len(expected))])


@pytest.mark.parametrize(
    "name, inputs, outputs",
    [
        ("keras_full.h5", "x_small", "small"),
        ("keras_model.keras", "x_small", "small"),
        ("keras_mixed.h5", "x_mixed", "mixed"),
        ("keras_mixed.keras", "x_mixed", "mixed"),
    ],
)
def test_load_keras_models_predict_as_keras_did(name, inputs, outputs, backend_name):
    model = load_model(os.path.join(FIXTURES, name))
    predictions = model.predict(KERAS[inputs], verbose=0)
    np.testing.assert_allclose(predictions, KERAS[outputs], rtol=1e-5, atol=1e-6)
    assert model.compiled and model.optimizer.iterations > 0


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
@pytest.mark.parametrize("kind", ["conv", "rnn"])
def test_nested_and_non_trainable_weights_both_ways(tmp_path, kind, suffix, backend_name):
    """Conv2D/BatchNormalization and Embedding/Bidirectional(LSTM)/GRU: Keras nests RNN
    weights in ``cell`` and wrapper subgroups; gpukeras reads and writes the same."""
    model = load_model(os.path.join(FIXTURES, f"keras_{kind}{suffix}"))
    expected = KERAS[kind]
    np.testing.assert_allclose(
        model.predict(KERAS[f"x_{kind}"], verbose=0), expected, rtol=1e-5, atol=1e-6
    )
    for name in ("again.keras", "again.h5"):
        model.save(tmp_path / name)
        np.testing.assert_allclose(
            load_model(tmp_path / name).predict(KERAS[f"x_{kind}"], verbose=0),
            expected,
            rtol=1e-5,
            atol=1e-6,
        )
    model.save_weights(tmp_path / "again.weights.h5")
    fresh = load_model(os.path.join(FIXTURES, f"keras_{kind}{suffix}"), compile=False)
    randomize(fresh)
    fresh.load_weights(tmp_path / "again.weights.h5")
    assert_same_weights(fresh.get_weights(), model.get_weights())


def test_keras3_layout_of_nested_layers(tmp_path):
    model = load_model(os.path.join(FIXTURES, "keras_rnn.keras"))
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as file:
        layers = file["layers"]
        for direction in ("forward_layer", "backward_layer"):
            assert len(layers[f"bidirectional/{direction}/cell/vars"]) == 3
            assert len(layers[f"bidirectional/{direction}/vars"]) == 0
        assert len(layers["gru/cell/vars"]) == 3 and len(layers["embedding/vars"]) == 1


@pytest.mark.parametrize("name", ["keras_mixed.h5", "keras_mixed.keras"])
def test_training_a_keras_model_resumes_as_keras_did(name, backend_name):
    model = load_model(os.path.join(FIXTURES, name))
    assert type(model.optimizer) is optimizers.SGD and model.optimizer.momentum == 0.9
    model.fit(KERAS["train_x"], KERAS["train_y"], batch_size=4, epochs=1, shuffle=False, verbose=0)
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_allclose(weight, KERAS[f"resumed_w{i}"], rtol=1e-5, atol=1e-6)


def test_keras_json_configs_build(tmp_path):
    with zipfile.ZipFile(os.path.join(FIXTURES, "keras_mixed.keras")) as archive:
        keras3 = archive.read("config.json").decode()
    with h5py.File(os.path.join(FIXTURES, "keras_mixed.h5"), "r") as file:
        legacy = file.attrs["model_config"]
    for text in (keras3, legacy):
        model = model_from_json(text)
        assert [type(layer).__name__ for layer in model.layers] == [
            "Flatten", "Dense", "Dropout", "Reshape", "Flatten", "Dense", "Activation"
        ]  # fmt: skip
        assert model.layers[1].kernel_regularizer.get_config() == {"l2": 0.01}


def test_keras2_style_legacy_config(tmp_path):
    """Keras 2 / Keras 1 spellings: bare layer list, batch_input_shape, old Dense names."""
    config = {
        "class_name": "Sequential",
        "config": [
            {
                "class_name": "Dense",
                "config": {
                    "name": "dense_1",
                    "trainable": True,
                    "batch_input_shape": [None, 4],
                    "dtype": "float32",
                    "output_dim": 3,
                    "init": "uniform",
                    "activation": "relu",
                    "activity_regularizer": None,
                },
            },
            {"class_name": "Activation", "config": {"name": "act", "activation": "softmax"}},
        ],
    }
    with pytest.warns(DeprecationWarning):
        model = model_from_json(json.dumps(config))
    assert model.layers[0].units == 3 and model.input_shape == (None, 4)


def test_keras2_input_layer_and_dtype_policies():
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "seq",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {
                        "batch_input_shape": [None, 4],
                        "dtype": "float32",
                        "sparse": False,
                        "ragged": False,
                        "name": "in",
                    },
                },
                {
                    "class_name": "Dense",
                    "config": {
                        "name": "d",
                        "units": 2,
                        "dtype": {"class_name": "Policy", "config": {"name": "float32"}},
                        "quantization_config": None,
                        "lora_rank": None,
                    },
                },
                {"class_name": "Dropout", "config": {"rate": 0.5, "dtype": policy}},
            ],
        },
    }
    model = model_from_json(json.dumps(config))
    assert model.input_shape == (None, 4) and model.layers[0].dtype == "float32"


# -- real Keras reads our files ----------------------------------------------------------
KERAS_PYTHON = os.environ.get("GPUKERAS_KERAS_PYTHON")

_KERAS_CHECK = textwrap.dedent(
    """
    import sys, numpy as np, keras
    folder = sys.argv[1]
    for kind in ("mixed", "rnn"):
        expected = np.load(f"{folder}/{kind}.npz")
        for name in (f"{kind}.h5", f"{kind}.keras"):
            model = keras.models.load_model(f"{folder}/{name}")
            np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                                       rtol=1e-5, atol=1e-6)
            assert int(model.optimizer.iterations) == int(expected["iterations"]), name
        model.load_weights(f"{folder}/{kind}.weights.h5")
        np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                                   rtol=1e-5, atol=1e-6)
    assert float(keras.models.load_model(f"{folder}/mixed.h5").optimizer.momentum) == 0.9
    print("keras read all files")
    """
)


@pytest.mark.skipif(
    not KERAS_PYTHON, reason="set GPUKERAS_KERAS_PYTHON to a Python with keras 3 installed"
)
def test_real_keras_loads_gpukeras_files(tmp_path):
    y = np.eye(2, dtype="float32")[np.arange(8) % 2]
    mixed = make_mixed_model()
    rnn = load_model(os.path.join(FIXTURES, "keras_rnn.keras"))
    inputs = {
        "mixed": np.random.default_rng(3).random((8, 2, 3), dtype="float32"),
        "rnn": np.random.default_rng(4).integers(0, 10, (8, 5)).astype("int32"),
    }
    for kind, model in (("mixed", mixed), ("rnn", rnn)):
        x = inputs[kind]
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        model.save(tmp_path / f"{kind}.h5")
        model.save(tmp_path / f"{kind}.keras")
        model.save_weights(tmp_path / f"{kind}.weights.h5")
        np.savez(
            tmp_path / f"{kind}.npz",
            x=x,
            y=model.predict(x, verbose=0),
            iterations=model.optimizer.iterations,
        )
    environment = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax")}
    result = subprocess.run(
        [KERAS_PYTHON, "-c", _KERAS_CHECK, str(tmp_path)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "keras read all files" in result.stdout


# -- clear errors -----------------------------------------------------------------------------
def test_shape_mismatch_names_layer_and_shapes_and_changes_nothing(tmp_path):
    other = Sequential([Dense(3, input_dim=4), Dropout(0.1), Dense(5)])
    path = tmp_path / "m.weights.h5"
    other.save_weights(path)
    model = make_model()
    before = model.get_weights()
    with pytest.raises(FileFormatError) as info:
        model.load_weights(path)
    message = str(info.value)
    assert model.layers[2].name in message and "(3, 2)" in message and "(3, 5)" in message
    assert_same_weights(model.get_weights(), before)


def test_weight_count_mismatch_names_layer_and_counts(tmp_path):
    path = tmp_path / "m.h5"
    Sequential([Dense(3, input_dim=4, use_bias=False), Dense(2)]).save_weights(path)
    with pytest.raises(FileFormatError) as info:
        Sequential([Dense(3, input_dim=4), Dense(2)]).load_weights(path)
    message = str(info.value)
    assert "expects 2 weight(s)" in message and "Received 1 saved weight(s)" in message
    assert "(4, 3)" in message


def test_skip_mismatch_warns_and_loads_the_rest(tmp_path):
    other = Sequential([Dense(3, input_dim=4), Dropout(0.1), Dense(5)])
    randomize(other)
    path = tmp_path / "m.h5"
    other.save_weights(path)
    model = make_model()
    before = model.get_weights()
    with pytest.warns(UserWarning, match="Skipping loading weights for layer #1"):
        model.load_weights(path, skip_mismatch=True)
    after = model.get_weights()
    assert_same_weights(after[:2], other.get_weights()[:2])
    assert_same_weights(after[2:], before[2:])


def test_layer_count_mismatch(tmp_path):
    path = tmp_path / "m.h5"
    Sequential([Dense(3, input_dim=4)]).save_weights(path)
    with pytest.raises(FileFormatError, match="Layer count mismatch.*expected 2 layers"):
        make_model().load_weights(path)


def test_keras3_file_with_extra_layers(tmp_path):
    path = tmp_path / "m.weights.h5"
    Sequential([Dense(3, input_dim=4), Dense(3), Dense(2)]).save_weights(path)
    with pytest.raises(FileFormatError, match="does not have"):
        Sequential([Dense(3, input_dim=4), Dense(3)]).load_weights(path)


def test_weights_file_given_to_load_model_says_how_to_load_it(tmp_path):
    for name in ("w.h5", "w.weights.h5"):
        make_model().save_weights(tmp_path / name)
    with pytest.raises(FileFormatError, match=r"only weights.*load_weights"):
        load_model(tmp_path / "w.h5")
    with pytest.raises(ValueError, match="File format not supported"):
        load_model(tmp_path / "w.weights.h5".replace(".h5", ".json"))


def test_non_hdf5_and_truncated_files_name_the_path(tmp_path):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"this is not an HDF5 file at all")
    with pytest.raises(FileFormatError, match="garbage.h5"):
        load_model(garbage)
    with pytest.raises(FileFormatError, match="garbage.h5"):
        make_model().load_weights(garbage)
    make_model().save(tmp_path / "whole.h5")
    truncated = tmp_path / "cut.h5"
    truncated.write_bytes((tmp_path / "whole.h5").read_bytes()[:3000])
    with pytest.raises(FileFormatError, match="cut.h5"):
        load_model(truncated)
    make_model().save(tmp_path / "whole.keras")
    cut_zip = tmp_path / "cut.keras"
    cut_zip.write_bytes((tmp_path / "whole.keras").read_bytes()[:3000])
    with pytest.raises(FileFormatError, match="cut.keras"):
        load_model(cut_zip)
    (tmp_path / "empty.keras").write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty.keras"):
        load_model(tmp_path / "empty.keras")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.h5"):
        load_model(tmp_path / "nothing.h5")


def test_unknown_class_is_named_with_custom_objects_hint():
    config = {"class_name": "Sequential", "config": {"layers": [{"class_name": "Wobble"}]}}
    with pytest.raises(FileFormatError, match=r"'Wobble'.*custom_objects"):
        model_from_json(json.dumps(config))


def test_custom_objects_resolve_own_layers(tmp_path):
    class Scale(gpukeras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def forward(self, x, training=False):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    model = Sequential([Dense(2, input_dim=3), Scale(3.0)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileFormatError, match="'Scale'"):
        load_model(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", custom_objects={"Scale": Scale})
    assert loaded.layers[1].factor == 3.0


@pytest.mark.parametrize("name", ["m.txt", "m", "m.json"])
def test_bad_suffixes(tmp_path, name):
    with pytest.raises(ValueError, match="Received: filepath="):
        make_model().save_weights(tmp_path / name)
    with pytest.raises(ValueError, match="Received: filepath="):
        make_model().save(tmp_path / name)
    with pytest.raises(ValueError, match="Received: filepath="):
        load_model(tmp_path / name)


def test_save_model_refuses_weights_suffix(tmp_path):
    with pytest.raises(ValueError, match="save_weights"):
        make_model().save(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="Received: filepath="):
        make_model().save_weights(tmp_path / "m.keras")


def test_unbuilt_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not yet been built"):
        Sequential([Dense(2)]).save_weights(tmp_path / "m.h5")


def test_unsupported_compile_settings_warn_and_load_uncompiled(tmp_path):
    make_model(compile_it=True).save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as file:
        training = json.loads(file.attrs["training_config"])
        training["loss"] = "no_such_loss"
        file.attrs["training_config"] = json.dumps(training)
    with pytest.warns(UserWarning, match="no_such_loss"):
        model = load_model(tmp_path / "m.h5")
    assert not model.compiled


# -- atomic writes ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, target",
    [
        ("m.weights.h5", (_hdf5, "write_keras3_weights")),
        ("m.h5", (_hdf5, "write_legacy_model")),
        ("m.keras", (_keras_zip, "write_keras_zip")),
    ],
)
def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch, name, target):
    path = tmp_path / name
    old = make_model()
    randomize(old, seed=3)
    save = old.save_weights if name.endswith(".weights.h5") else old.save
    save(path)
    before = path.read_bytes()
    module, function = target
    real = getattr(module, function)

    def half_then_crash(file, model):
        real(file, model)  # everything written, then a crash before the rename
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(module, function, half_then_crash)
    fresh = make_model()
    with pytest.raises(RuntimeError, match="disk on fire"):
        (fresh.save_weights if name.endswith(".weights.h5") else fresh.save)(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [name]
    monkeypatch.undo()
    probe = make_model()
    probe.load_weights(path)
    assert_same_weights(probe.get_weights(), old.get_weights())


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(file, model):
        raise TypeError("config not serializable")

    monkeypatch.setattr(_hdf5, "write_legacy_model", broken)
    with pytest.raises(TypeError):
        make_model().save(tmp_path / "m.h5")
    assert os.listdir(tmp_path) == []


def test_atomic_write_path_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with saving.atomic_write_path(str(target)) as temporary:
        assert os.path.dirname(temporary) == str(tmp_path)
        assert target.read_bytes() == b"old"  # untouched until the end
        with open(temporary, "wb") as file:
            file.write(b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.listdir(tmp_path) == ["file.bin"]


def test_overwrite_false_asks(tmp_path, monkeypatch):
    path = tmp_path / "m.h5"
    make_model().save_weights(path)
    before = path.read_bytes()
    answers = iter(["maybe", "n"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    make_model().save(path, overwrite=False)
    assert path.read_bytes() == before


def test_public_names():
    assert gpukeras.models.load_model is saving.load_model
    assert gpukeras.models.model_from_json is saving.model_from_json
    assert issubclass(FileFormatError, ValueError)
    assert _api.load_model is saving.load_model
    assert sys.modules["gpukeras.saving"] is gpukeras.saving
