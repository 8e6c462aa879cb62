"""gpukeras.saving: Keras's HDF5 layouts, Keras-written files, safety, atomic writes."""

from __future__ import annotations

import json
import os
import stat

import h5py
import numpy as np
import pytest

from gpukeras import saving
from gpukeras.layers import Dense, Dropout
from gpukeras.models import Sequential
from gpukeras.saving import _hdf5

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def make_model(compile_it=False):
    model = Sequential([Dense(3, input_dim=4, activation="relu"), Dropout(0.1), Dense(2)])
    if compile_it:
        model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    return model


def randomize(model, seed=1):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") for w in model.weights])


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
    saving.save_weights(source, path)
    saving.load_weights(target, path)
    assert_same_weights(target.get_weights(), source.get_weights())


def test_save_model_round_trip_of_weights(tmp_path, backend_name):
    source, target = make_model(compile_it=True), make_model()
    randomize(source)
    path = str(tmp_path / "model.hdf5")
    source.save(path)
    target.load_weights(path)
    assert_same_weights(target.get_weights(), source.get_weights())


# -- layouts ---------------------------------------------------------------------------
def test_keras3_weights_layout(tmp_path):
    model = make_model()
    path = tmp_path / "m.weights.h5"
    saving.save_weights(model, path)
    kernel, bias = model.layers[0].weights
    with h5py.File(path, "r") as file:
        assert sorted(file["layers"]) == ["dense", "dense_1", "dropout"]
        np.testing.assert_array_equal(file["layers/dense/vars/0"][()], kernel.numpy())
        np.testing.assert_array_equal(file["layers/dense/vars/1"][()], bias.numpy())
        assert len(file["layers/dropout/vars"]) == 0
        assert "vars" in file


def test_keras3_keys_follow_class_names_not_layer_names():
    layers = [Dense(1, name="first"), Dropout(0.5), Dense(1, name="second")]

    class Conv2DTranspose:
        pass

    assert _hdf5._keras3_keys(layers) == ["dense", "dropout", "dense_1"]
    assert _hdf5._keras3_keys([Conv2DTranspose()]) == ["conv2d_transpose"]


def test_legacy_weights_layout(tmp_path):
    model = make_model()
    path = tmp_path / "m.h5"
    saving.save_weights(model, path)
    names = [layer.name for layer in model.layers]
    with h5py.File(path, "r") as file:
        assert _hdf5._read_string_list(file, "layer_names") == names
        assert file.attrs["keras_version"] in ("3.15.1", b"3.15.1")
        dense = model.layers[0]
        weight_names = _hdf5._read_string_list(file[dense.name], "weight_names")
        assert weight_names == [f"{dense.name}/kernel:0", f"{dense.name}/bias:0"]
        np.testing.assert_array_equal(
            file[dense.name][weight_names[0]][()], dense.weights[0].numpy()
        )
        assert _hdf5._read_string_list(file[model.layers[1].name], "weight_names") == []


def test_full_model_layout(tmp_path):
    model = make_model(compile_it=True)
    path = tmp_path / "m.h5"
    saving.save_model(model, path)
    with h5py.File(path, "r") as file:
        assert set(file.attrs) >= {"keras_version", "backend", "model_config", "training_config"}
        config = json.loads(file.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert config["config"]["name"] == model.get_config()["name"]
        # Legacy serialization (what Keras 3's HDF5 loader accepts): only class_name + config.
        for entry in config["config"]["layers"]:
            assert set(entry) == {"class_name", "config"}
        assert "module" not in file.attrs["model_config"]
        training = json.loads(file.attrs["training_config"])
        assert training["loss"] == "mse"
        assert training["optimizer_config"]["class_name"] == "Adam"
        group = file["model_weights"]
        assert _hdf5._read_string_list(group, "layer_names") == [x.name for x in model.layers]


def test_uncompiled_model_has_no_training_config(tmp_path):
    path = tmp_path / "m.h5"
    saving.save_model(make_model(), path)
    with h5py.File(path, "r") as file:
        assert "training_config" not in file.attrs


def test_long_attribute_lists_are_chunked(tmp_path):
    names = [f"layer_{i:05d}_" + "x" * 200 for i in range(600)]
    with h5py.File(tmp_path / "a.h5", "w") as file:
        _hdf5._write_string_list(file, "layer_names", names)
        assert "layer_names" not in file.attrs and "layer_names1" in file.attrs
        assert _hdf5._read_string_list(file, "layer_names") == names


# -- files written by Keras 3 ----------------------------------------------------------
@pytest.mark.parametrize("name", ["keras_full.h5", "keras.weights.h5", "keras_legacy_weights.h5"])
def test_loads_keras_files(name, backend_name):
    expected = np.load(os.path.join(FIXTURES, "keras_saved_weights.npz"))
    model = make_model()
    model.load_weights(os.path.join(FIXTURES, name))
    assert_same_weights(model.get_weights(), [expected[f"w{i}"] for i in range(len(expected))])


# -- refusing bad input ----------------------------------------------------------------
def test_shape_mismatch_names_layer_and_shapes_and_changes_nothing(tmp_path):
    other = Sequential([Dense(3, input_dim=4), Dropout(0.1), Dense(5)])
    path = tmp_path / "m.weights.h5"
    saving.save_weights(other, path)
    model = make_model()
    before = model.get_weights()
    with pytest.raises(ValueError) as info:
        saving.load_weights(model, path)
    message = str(info.value)
    assert model.layers[2].name in message and "(3, 2)" in message and "(3, 5)" in message
    assert_same_weights(model.get_weights(), before)


def test_skip_mismatch_warns_and_loads_the_rest(tmp_path):
    other = Sequential([Dense(3, input_dim=4), Dropout(0.1), Dense(5)])
    randomize(other)
    path = tmp_path / "m.h5"
    saving.save_weights(other, path)
    model = make_model()
    before = model.get_weights()
    with pytest.warns(UserWarning, match="Skipping loading weights for layer #1"):
        saving.load_weights(model, path, skip_mismatch=True)
    after = model.get_weights()
    assert_same_weights(after[:2], other.get_weights()[:2])
    assert_same_weights(after[2:], before[2:])


def test_layer_count_mismatch(tmp_path):
    path = tmp_path / "m.h5"
    saving.save_weights(Sequential([Dense(3, input_dim=4)]), path)
    with pytest.raises(ValueError, match="Layer count mismatch"):
        saving.load_weights(make_model(), path)


def test_keras3_file_with_extra_layers(tmp_path):
    path = tmp_path / "m.weights.h5"
    saving.save_weights(Sequential([Dense(3, input_dim=4), Dense(3), Dense(2)]), path)
    with pytest.raises(ValueError, match="does not have"):
        saving.load_weights(Sequential([Dense(3, input_dim=4), Dense(3)]), path)


@pytest.mark.parametrize("link", ["soft", "external"])
def test_links_are_refused(tmp_path, link):
    model = make_model()
    path = tmp_path / "m.h5"
    saving.save_weights(model, path)
    dense = model.layers[0].name
    with h5py.File(path, "a") as file:
        group = file[dense][dense]
        data = group["kernel:0"][()]
        del group["kernel:0"]
        if link == "soft":
            file.create_dataset("elsewhere", data=data)
            group["kernel:0"] = h5py.SoftLink("/elsewhere")
        else:
            with h5py.File(tmp_path / "other.h5", "w") as other:
                other.create_dataset("kernel", data=data)
            group["kernel:0"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/kernel")
    with pytest.raises(ValueError, match="Not allowed"):
        saving.load_weights(make_model(), path)


def test_path_traversal_names_are_refused(tmp_path):
    path = tmp_path / "m.h5"
    saving.save_weights(make_model(), path)
    with h5py.File(path, "a") as file:
        names = _hdf5._read_string_list(file, "layer_names")
        names[0] = "/" + names[0]
        _hdf5._write_string_list(file, "layer_names", names)
    with pytest.raises(ValueError, match="Invalid path"):
        saving.load_weights(make_model(), path)


def test_not_a_weights_file(tmp_path):
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as file:
        file.create_group("something")
    with pytest.raises(ValueError, match="holds no Keras weights"):
        saving.load_weights(make_model(), path)


def test_keras_zip_format_not_implemented(tmp_path):
    with pytest.raises(NotImplementedError, match="m.keras"):
        saving.save_model(make_model(), tmp_path / "m.keras")
    zipped = tmp_path / "z.keras"
    zipped.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(NotImplementedError, match="z.keras"):
        saving.load_weights(make_model(), zipped)


@pytest.mark.parametrize("name", ["m.txt", "m", "m.keras"])
def test_bad_suffixes(tmp_path, name):
    with pytest.raises(ValueError, match="Received: filepath="):
        saving.save_weights(make_model(), tmp_path / name)
    if name != "m.keras":
        with pytest.raises(ValueError, match="Received: filepath="):
            saving.save_model(make_model(), tmp_path / name)


def test_unbuilt_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not yet been built"):
        saving.save_weights(Sequential([Dense(2)]), tmp_path / "m.h5")


# -- atomic writes ---------------------------------------------------------------------
def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.h5"
    old = make_model()
    randomize(old, seed=3)
    saving.save_weights(old, path)
    before = path.read_bytes()

    def broken_writer(file, model):
        file.create_group("layers")  # something half-written, then a crash
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(_hdf5, "_write_keras3_weights", broken_writer)
    with pytest.raises(RuntimeError, match="disk on fire"):
        saving.save_weights(make_model(), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.weights.h5"]


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    def broken_metadata(model):
        raise TypeError("config not serializable")

    monkeypatch.setattr(_hdf5, "_model_metadata", broken_metadata)
    with pytest.raises(TypeError):
        saving.save_model(make_model(), tmp_path / "m.h5")
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
    saving.save_weights(make_model(), path)
    before = path.read_bytes()
    answers = iter(["maybe", "n"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    saving.save_model(make_model(), path, overwrite=False)
    assert path.read_bytes() == before


# -- a model that is not a gpukeras Sequential ---------------------------------------------
def test_duck_typed_model(tmp_path):
    layer = Dense(2)
    layer(np.zeros((1, 3), dtype="float32"))

    class TinyModel:
        layers = [layer]

        def get_config(self):
            return {"name": "tiny", "layers": []}

    path = tmp_path / "tiny.h5"
    saving.save_model(TinyModel(), path)
    kernel = layer.weights[0].numpy()
    layer.weights[0].assign(np.zeros_like(kernel))
    saving.load_weights(TinyModel(), path)
    np.testing.assert_array_equal(layer.weights[0].numpy(), kernel)
