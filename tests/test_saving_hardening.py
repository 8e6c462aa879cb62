"""Model, weights and backup files built to exhaust memory or time, or to crash the loader.

Each is refused before the cost is paid, with a gpukeras error naming the file:
variable-length strings sharing one heap object, configs of thousands of
layers, groups nested thousands deep, and values no constructor can take.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile

import h5py
import numpy as np
import pytest

import gpukeras
from gpukeras import callbacks, layers
from gpukeras.models import Sequential, load_model
from gpukeras.regularizers import L1L2, L2
from gpukeras.saving import FileFormatError, _config, _h5safe


def _model() -> Sequential:
    model = Sequential(
        [layers.Input((4,)), layers.Dense(3, name="dense"), layers.Dense(2, name="dense_1")]
    )
    model.compile(loss="mse", optimizer="sgd")
    return model


def _rewrite_config(path, change) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


# -- HDF5 variable-length strings that share one heap object -----------------------------------
def _shared_heap_strings(path, group_path: str, name: str, count: int, size: int) -> None:
    """An attribute of ``count`` variable-length strings, all pointing at one ``size``-byte
    heap object (as a hostile file can; h5py itself writes one object per string)."""
    strings = ["x" * size] + [f"s{i:05d}" for i in range(1, count)]
    with h5py.File(path, "a") as file:
        group = file.require_group(group_path) if group_path != "/" else file
        if name in group.attrs:
            del group.attrs[name]
        group.attrs.create(name, strings, dtype=h5py.string_dtype())
    data = bytearray(open(path, "rb").read())
    first = data.find(struct.pack("<I", size))
    while data[first + 16 : first + 20] != struct.pack("<I", 6):  # the descriptors' start
        first = data.find(struct.pack("<I", size), first + 1)
    record = data[first : first + 16]
    for index in range(1, count):  # every descriptor now names the first string's object
        at = first + 16 * index
        assert struct.unpack("<I", data[at : at + 4])[0] == len(f"s{index:05d}")
        data[at : at + 16] = record
    open(path, "wb").write(bytes(data))


def test_layer_names_sharing_one_heap_object_are_refused_before_reading(tmp_path):
    path = tmp_path / "w.h5"
    _model().save_weights(path)
    _shared_heap_strings(path, "/", "layer_names", count=2000, size=64 << 10)
    with h5py.File(path, "r") as file:  # the file is valid: h5py would read 128 MB
        assert os.path.getsize(path) < 300_000
        assert len(file.attrs.get_id("layer_names").shape) == 1
    with pytest.raises(FileFormatError, match=r"'layer_names'.*2000 variable-length strings"):
        _model().load_weights(path)


def test_a_short_list_of_variable_length_names_still_loads(tmp_path):
    path = tmp_path / "w.h5"
    model = _model()
    model.save_weights(path)
    with h5py.File(path, "a") as file:
        names = [bytes(n).decode() for n in file.attrs["layer_names"]]
        file.attrs.create("layer_names", names, dtype=h5py.string_dtype())
    fresh = _model()
    fresh.load_weights(path)
    for ours, theirs in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_model_config_as_an_array_of_strings_is_refused_before_reading(tmp_path):
    path = tmp_path / "m.h5"
    _model().save(path)
    with h5py.File(path, "a") as file:
        text = file.attrs["model_config"]
        del file.attrs["model_config"]
        file.attrs.create("model_config", [text] * 3000, dtype=h5py.string_dtype())
    with pytest.raises(FileFormatError, match=r"'model_config' should be one JSON string"):
        load_model(path)


# -- configs of absurd size or nesting --------------------------------------------------------
def test_a_keras_config_listing_more_layers_than_the_cap_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    many = _config.MAX_LAYERS + 1

    def add_layers(config):
        template = config["config"]["layers"][-1]
        config["config"]["layers"] += [
            {**template, "config": {**template["config"], "name": f"d{i}", "units": 2}}
            for i in range(many)
        ]

    _rewrite_config(path, add_layers)
    with pytest.raises(FileFormatError, match=rf"m.keras lists {many + 3} layers.*at most"):
        load_model(path)


def test_a_long_config_builds_the_same_model_as_adding_layer_by_layer():
    layer_list = [layers.Input((4,))] + [layers.Dense(4, name=f"d{i}") for i in range(300)]
    model = Sequential(layer_list)
    rebuilt = gpukeras.models.model_from_json(model.to_json())
    assert [layer.name for layer in rebuilt.layers] == [f"d{i}" for i in range(300)]
    assert rebuilt.built and rebuilt.output_shape == (None, 4)
    assert len(rebuilt.weights) == len(model.weights)


def test_duplicate_layer_names_in_a_config_are_refused(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    _rewrite_config(path, lambda c: c["config"]["layers"][-1]["config"].update(name="dense"))
    with pytest.raises(FileFormatError, match="m.keras.*unique.*'dense' twice"):
        load_model(path)


def test_groups_nested_thousands_deep_are_refused_before_walking(tmp_path):
    path = tmp_path / "w.weights.h5"
    _model().save_weights(path)
    with h5py.File(path, "a") as file:
        group = file["layers"].create_group("unknown")
        for _ in range(_h5safe.MAX_GROUP_DEPTH + 10):
            group = group.create_group("g")
        group.create_dataset("w", data=np.zeros(1))
    with pytest.raises(FileFormatError, match=r"w.weights.h5 nests groups more than 32 deep"):
        _model().load_weights(path)


def test_a_layer_name_thousands_of_levels_deep_is_refused_before_walking(tmp_path):
    path = tmp_path / "w.h5"
    _model().save_weights(path)
    with h5py.File(path, "a") as file:
        file.attrs["layer_names"] = np.array([b"/".join([b"g"] * 5000)])
    with pytest.raises(FileFormatError, match="more than 32 levels deep"):
        _model().load_weights(path)


# -- values no constructor can take ----------------------------------------------------------
def test_a_layer_entry_whose_config_is_a_number_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    _rewrite_config(path, lambda c: c["config"]["layers"][-1].update(config=7))
    with pytest.raises(FileFormatError, match=r"m.keras.*'config' must be a dict.*config=7"):
        load_model(path)


@pytest.mark.parametrize("value", ["10" + "0" * 400, "1e400"])
def test_a_regularizer_factor_too_large_for_a_float_is_refused(tmp_path, value):
    path = tmp_path / "m.keras"
    model = Sequential([layers.Input((4,)), layers.Dense(2, kernel_regularizer=L2(0.1))])
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    text = members["config.json"].decode()
    assert '"l2": 0.1' in text
    members["config.json"] = text.replace('"l2": 0.1', f'"l2": {value}').encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(FileFormatError, match=r"m.keras.*finite, non-negative float"):
        load_model(path)


@pytest.mark.parametrize("factor", [10**400, float("inf"), -1.0, float("nan")])
def test_regularizer_factors_must_be_finite_and_non_negative(factor):
    with pytest.raises(ValueError, match="l2=.*"):
        L2(factor)
    with pytest.raises(ValueError, match="l1=.*"):
        L1L2(l1=factor)


@pytest.mark.parametrize(
    "dtype", ["(9999999999999999999,)f4", "(99999999999,)f4", "f4,f4", "float" + "3" * 500]
)
def test_absurd_dtype_strings_are_refused(tmp_path, dtype):
    path = tmp_path / "m.keras"
    _model().save(path)
    _rewrite_config(path, lambda c: c["config"]["layers"][-1]["config"].update(dtype=dtype))
    with pytest.raises(FileFormatError, match="m.keras.*unsupported dtype"):
        load_model(path)


# -- BackupAndRestore ---------------------------------------------------------------------------
def test_a_backup_with_the_wrong_kind_of_random_state_names_the_file(tmp_path):
    backup_dir = tmp_path / "b"
    x, y = np.ones((8, 4), "float32"), np.ones((8, 2), "float32")
    model = _model()
    backup = callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=False)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[backup])
    path = backup_dir / "latest.backup.npz"
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    meta["random"]["numpy"]["bit_generator"] = "PCG64"
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(OSError, match=r"latest.backup.npz.*random state is of the wrong kind"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[backup])
    for ours, saved in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(ours, saved)  # nothing was half restored


# -- .keras archives that zipfile cannot read --------------------------------------------------
def _patch_member_headers(path, member: str, flag_bits: int = 0, method: int | None = None):
    data = bytearray(open(path, "rb").read())
    encoded = member.encode()
    for signature, name_at, flag_at, method_at in (
        (b"PK\x03\x04", 30, 6, 8),
        (b"PK\x01\x02", 46, 8, 10),
    ):
        at = data.find(signature)
        while data[at + name_at : at + name_at + len(encoded)] != encoded:
            at = data.find(signature, at + 1)
        data[at + flag_at] |= flag_bits
        if method is not None:
            data[at + method_at : at + method_at + 2] = method.to_bytes(2, "little")
    open(path, "wb").write(bytes(data))


@pytest.mark.parametrize(
    "flag_bits, method, match",
    [(1, None, "encrypted"), (0, 99, "compression method 99")],
)
def test_encrypted_or_unknown_method_keras_members_name_the_file(
    tmp_path, flag_bits, method, match
):
    path = tmp_path / "m.keras"
    _model().save(path)
    _patch_member_headers(path, "config.json", flag_bits, method)
    with pytest.raises(FileFormatError, match=rf"'config.json' of .*m.keras.*{match}"):
        load_model(path)


def test_a_damaged_deflate_stream_in_a_keras_archive_names_the_file(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = bytearray(open(path, "rb").read())
    at = data.find(b"config.json") + len("config.json")
    data[at + 2 : at + 40] = bytes(range(7, 45))  # garbage inside the deflate stream
    open(path, "wb").write(bytes(data))
    with pytest.raises(FileFormatError, match=r"'config.json' of .*m.keras"):
        load_model(path)


def test_a_backup_holding_a_void_array_names_the_file(tmp_path):
    backup_dir = tmp_path / "b"
    x, y = np.ones((8, 4), "float32"), np.ones((8, 2), "float32")
    model = _model()
    backup = callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=False)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[backup])
    path = backup_dir / "latest.backup.npz"
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["weight_0"] = np.zeros(10**7, dtype="V0")
    np.savez(path, **arrays)
    with pytest.raises(OSError, match=r"latest.backup.npz.*not numbers \(dtype \|V0\)"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[backup])


def test_every_name_list_of_a_file_reads_from_one_budget(tmp_path, monkeypatch):
    path = tmp_path / "w.h5"
    model = Sequential([layers.Input((4,))] + [layers.Dense(4, name=f"d{i}") for i in range(40)])
    model.save_weights(path)
    with h5py.File(path, "r") as file:
        one_list = file.attrs["layer_names"].nbytes
    # Enough for the layer names and a few layers' weight names, not for all 40 layers.
    monkeypatch.setattr(_h5safe, "STRING_LIST_LIMIT", one_list + 200)
    with pytest.raises(FileFormatError, match="weight_names"):
        model.load_weights(path)
    monkeypatch.setattr(_h5safe, "STRING_LIST_LIMIT", 1 << 26)
    model.load_weights(path)
