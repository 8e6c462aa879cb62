"""Hostile files: each case is built here with h5py/zipfile; loading must refuse it clearly.

Nothing in a file may run code, import a module, read another file or
allocate memory the file does not justify. Every refusal is a
``gpukeras.saving.FileFormatError`` (a ValueError) with a message that says
what is wrong. The fuzz tests at the end mutate valid files at random and
accept only two outcomes: a loaded model or a FileFormatError.
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import os
import shutil
import sys
import tempfile
import warnings
import zipfile

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpukeras.layers import Dense, Dropout
from gpukeras.models import Sequential, load_model, model_from_json
from gpukeras.saving import FileFormatError, _h5safe


def make_model(compile_it=True):
    model = Sequential(
        [
            Dense(3, input_dim=4, activation="relu", name="dense"),
            Dropout(0.1, name="dropout"),
            Dense(2, name="dense_1"),
        ]
    )
    if compile_it:
        model.compile(loss="mse", optimizer="adam")
        x = np.linspace(0, 1, 32, dtype="float32").reshape(8, 4)
        model.fit(x, x[:, :2], epochs=1, verbose=0)
    return model


@pytest.fixture
def full_h5(tmp_path):
    path = tmp_path / "m.h5"
    make_model().save(path)
    return path


def edit_model_config(path, change):
    with h5py.File(path, "a") as file:
        config = json.loads(file.attrs["model_config"])
        change(config)
        file.attrs["model_config"] = json.dumps(config)


def layers_of(config):
    return config["config"]["layers"]


def refuses(path, match, **kwargs):
    with pytest.raises(FileFormatError, match=match):
        load_model(path, **kwargs)


# -- classes, code and modules named in configs -------------------------------------------
def test_unknown_class_name(full_h5):
    edit_model_config(full_h5, lambda c: layers_of(c)[1].update(class_name="Wobble"))
    refuses(full_h5, r"unknown layer class 'Wobble'.*custom_objects=\{'Wobble'")


def _keras2_lambda_entry(sentinel):
    def payload(x):
        with open(sentinel, "w") as file:
            file.write("the file ran code")
        return x

    code = base64.b64encode(marshal.dumps(payload.__code__)).decode("ascii")
    return {
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "trainable": True,
            "function": [code, None, [sentinel]],
            "function_type": "lambda",
            "module": "__main__",
            "output_shape": None,
            "output_shape_type": "raw",
            "arguments": {},
        },
    }


@pytest.mark.parametrize("safe_mode", [True, False])
def test_lambda_bytecode_is_refused_and_never_runs(full_h5, tmp_path, safe_mode):
    sentinel = str(tmp_path / "pwned")
    edit_model_config(full_h5, lambda c: layers_of(c).insert(2, _keras2_lambda_entry(sentinel)))
    refuses(full_h5, r"Lambda.*run code", safe_mode=safe_mode)
    assert not os.path.exists(sentinel)


def test_keras3_lambda_in_keras_zip_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    make_model().save(path)
    lambda_entry = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "function": {
                "class_name": "__lambda__",
                "config": {"code": "4wEAAAAA", "defaults": None, "closure": None},
            },
        },
        "registered_name": None,
    }
    rewrite_zip_member(path, "config.json", lambda c: layers_of(c).insert(2, lambda_entry))
    refuses(path, "Lambda")


def test_serialized_function_as_activation_is_refused(full_h5):
    function = {"class_name": "__lambda__", "config": {"code": "4wEA", "defaults": None}}
    edit_model_config(full_h5, lambda c: layers_of(c)[1]["config"].update(activation=function))
    refuses(full_h5, "serialized Python function")


@pytest.mark.parametrize("where", ["layer", "initializer", "optimizer"])
def test_modules_named_in_configs_are_never_imported(tmp_path, where):
    path = tmp_path / "m.keras"
    make_model().save(path)
    evil = "gpukeras_test_evil_module"

    def change(config):
        dense = layers_of(config)[1]
        if where == "layer":
            dense["module"] = evil
        elif where == "initializer":
            dense["config"]["kernel_initializer"]["module"] = evil
        else:
            config["compile_config"]["optimizer"]["module"] = evil

    rewrite_zip_member(path, "config.json", change)
    refuses(path, f"names module .{evil}.*never imports modules")
    assert evil not in sys.modules


def test_custom_objects_vouch_for_a_foreign_module(tmp_path):
    path = tmp_path / "m.keras"
    make_model().save(path)
    rewrite_zip_member(path, "config.json", lambda c: layers_of(c)[1].update(module="mine.layers"))
    model = load_model(path, custom_objects={"Dense": Dense})
    assert isinstance(model.layers[0], Dense)


def test_a_config_cannot_switch_safe_mode_off(full_h5, tmp_path):
    sentinel = str(tmp_path / "pwned")

    def change(config):
        config["config"]["safe_mode"] = False
        config["safe_mode"] = False
        layers_of(config).insert(2, _keras2_lambda_entry(sentinel))

    edit_model_config(full_h5, change)
    refuses(full_h5, "Lambda")


def test_a_sequential_config_named_functional_is_refused_clearly(full_h5):
    edit_model_config(full_h5, lambda c: c.update(class_name="Functional"))
    refuses(full_h5, "Invalid functional model config.*'inbound_nodes' list")


def test_subclassed_model_configs_are_refused_clearly(full_h5):
    edit_model_config(full_h5, lambda c: c.update(class_name="MyModel"))
    refuses(full_h5, "'MyModel' model; gpukeras loads Sequential and functional models")


@pytest.mark.parametrize(
    "dtype, match",
    [
        ({"class_name": "DTypePolicy", "config": {"name": "mixed_int8"}}, "mixed precision"),
        ({"class_name": "QuantizedDTypePolicy", "config": {"name": "int8"}}, "not supported"),
        ("bfloat16", "unsupported dtype"),
        (["float32"], "expected a dtype name"),
    ],
)
def test_unsupported_dtype_policies(full_h5, dtype, match):
    edit_model_config(full_h5, lambda c: layers_of(c)[1]["config"].update(dtype=dtype))
    refuses(full_h5, match)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("lora_rank", 4, "does not support lora_rank=4"),
        ("quantization_config", {"mode": "int8"}, "quantization_config"),
        ("frobnicate", 1, "frobnicate"),
    ],
)
def test_unknown_or_unsupported_layer_keys(full_h5, key, value, match):
    edit_model_config(full_h5, lambda c: layers_of(c)[1]["config"].update({key: value}))
    refuses(full_h5, match)


def test_config_asking_for_an_absurd_model_is_refused_without_allocating(full_h5):
    def change(config):
        layers = layers_of(config)
        layers[0]["config"]["batch_shape"] = [None, 2**20]
        layers[1]["config"]["units"] = 2**20  # a 4 TiB kernel

    edit_model_config(full_h5, change)
    refuses(full_h5, "memory|Shape mismatch|mismatch")


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "{not json", "42", '"x"'])
def test_malformed_model_config_json(full_h5, text):
    with h5py.File(full_h5, "a") as file:
        file.attrs["model_config"] = text
    refuses(full_h5, "JSON|model config|Invalid")


def test_malformed_json_string():
    with pytest.raises(FileFormatError, match="not valid JSON"):
        model_from_json("{oops")


# -- links, external and virtual data ----------------------------------------------------
def _kernel_path(file):
    return "model_weights/dense/dense/kernel:0"


@pytest.mark.parametrize("link", ["soft", "external"])
def test_links_are_refused(full_h5, tmp_path, link):
    with h5py.File(full_h5, "a") as file:
        data = file[_kernel_path(file)][()]
        del file[_kernel_path(file)]
        if link == "soft":
            file.create_dataset("elsewhere", data=data)
            file[_kernel_path(file)] = h5py.SoftLink("/elsewhere")
        else:
            with h5py.File(tmp_path / "other.h5", "w") as other:
                other.create_dataset("kernel", data=data)
            file[_kernel_path(file)] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/kernel")
    refuses(full_h5, f"Not allowed: HDF5 file with {link.capitalize()}Link")


def test_soft_link_to_a_group_is_refused(tmp_path):
    path = tmp_path / "m.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as file:
        file.move("layers/dense", "hidden")
        file["layers/dense"] = h5py.SoftLink("/hidden")
    with pytest.raises(FileFormatError, match="SoftLink"):
        make_model(compile_it=False).load_weights(path)


def test_external_dataset_is_refused(full_h5, tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.zeros((4, 3), dtype="float32").tobytes())
    with h5py.File(full_h5, "a") as file:
        del file[_kernel_path(file)]
        file.create_dataset(
            _kernel_path(file), shape=(4, 3), dtype="float32", external=[(str(raw), 0, 48)]
        )
    refuses(full_h5, "external dataset")


def test_virtual_dataset_is_refused(full_h5, tmp_path):
    with h5py.File(tmp_path / "source.h5", "w") as source:
        source.create_dataset("data", data=np.ones((4, 3), dtype="float32"))
    layout = h5py.VirtualLayout(shape=(4, 3), dtype="float32")
    layout[:] = h5py.VirtualSource(str(tmp_path / "source.h5"), "data", shape=(4, 3))
    with h5py.File(full_h5, "a") as file:
        del file[_kernel_path(file)]
        file.create_virtual_dataset(_kernel_path(file), layout)
    refuses(full_h5, "virtual dataset")


# -- sizes, shapes, dtypes, structure --------------------------------------------------------
def test_shape_bomb_is_refused_before_reading(full_h5):
    with h5py.File(full_h5, "a") as file:
        del file[_kernel_path(file)]
        file.create_dataset(  # 16 GiB declared, nothing stored
            _kernel_path(file), shape=(2**16, 2**16), dtype="float32", chunks=(64, 64),
            compression="gzip",
        )  # fmt: skip
    refuses(full_h5, "Not allowed: dataset .* declares 17179869184 bytes")


def test_many_small_bombs_are_refused_in_total(tmp_path):
    model = Sequential([Dense(2048, input_dim=1024), Dense(1024), Dense(1024)])
    path = tmp_path / "m.weights.h5"
    with h5py.File(path, "w") as file:
        for key, layer in zip(["dense", "dense_1", "dense_2"], model.layers, strict=True):
            group = file.create_group(f"layers/{key}/vars")
            for index, weight in enumerate(layer.weights):
                # Under the per-dataset floor, stored as nothing: only the total gives it away.
                group.create_dataset(
                    str(index), shape=weight.shape, dtype="float32", chunks=True,
                    compression="gzip",
                )  # fmt: skip
    with pytest.raises(FileFormatError, match="declare .* bytes in all"):
        model.load_weights(path)


@pytest.mark.parametrize("dtype", ["S4", "bool", "complex64", [("a", "f4"), ("b", "f4")]])
def test_non_numeric_weights_are_refused(full_h5, dtype):
    with h5py.File(full_h5, "a") as file:
        del file[_kernel_path(file)]
        file.create_dataset(_kernel_path(file), shape=(4, 3), dtype=np.dtype(dtype))
    refuses(full_h5, "dtype")


@pytest.mark.parametrize("dtype", ["float64", "float16", "int32"])
def test_other_numeric_weights_are_cast(full_h5, dtype):
    with h5py.File(full_h5, "a") as file:
        del file[_kernel_path(file)]
        file.create_dataset(_kernel_path(file), data=np.ones((4, 3), dtype=dtype))
    model = load_model(full_h5)
    np.testing.assert_array_equal(model.layers[0].weights[0].numpy(), np.ones((4, 3)))
    assert model.layers[0].weights[0].numpy().dtype == np.float32


def test_missing_layer_group(full_h5):
    with h5py.File(full_h5, "a") as file:
        del file["model_weights/dense_1"]
    refuses(full_h5, "no entry 'dense_1'")


def test_missing_weights_group(full_h5):
    with h5py.File(full_h5, "a") as file:
        del file["model_weights"]
    refuses(full_h5, "holds no Keras weights")


def test_missing_keras3_layer_group(tmp_path):
    path = tmp_path / "m.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as file:
        del file["layers/dense_1"]
    with pytest.raises(FileFormatError, match=r"'dense_1'.*\[\(3, 2\), \(2,\)\].*no group"):
        make_model(compile_it=False).load_weights(path)


def test_group_where_a_dataset_belongs(full_h5):
    with h5py.File(full_h5, "a") as file:
        del file[_kernel_path(file)]
        file.create_group(_kernel_path(file))
    refuses(full_h5, "expected a dataset")


@pytest.mark.parametrize("bad", ["/dense", "../dense", "dense/../dense_1", ""])
def test_path_traversal_names_are_refused(full_h5, bad):
    with h5py.File(full_h5, "a") as file:
        group = file["model_weights"]
        names = _h5safe.read_string_list(group, "layer_names")
        names[0] = bad
        _h5safe.write_string_list(group, "layer_names", names)
    refuses(full_h5, "Invalid path")


def test_weight_names_that_are_not_text(full_h5):
    with h5py.File(full_h5, "a") as file:
        file["model_weights/dense"].attrs["weight_names"] = np.array([1.5, 2.5])
    refuses(full_h5, "should be text")


def test_optimizer_state_of_the_wrong_shape_warns_and_starts_fresh(full_h5):
    with h5py.File(full_h5, "a") as file:
        group = file["optimizer_weights"]
        name = _h5safe.read_string_list(group, "weight_names")[2]
        del group[name]
        group.create_dataset(name, data=np.zeros((9, 9), dtype="float32"))
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        model = load_model(full_h5)
    assert model.optimizer.iterations == 0


def test_random_bytes_behind_an_hdf5_signature(tmp_path):
    path = tmp_path / "fake.h5"
    path.write_bytes(_h5safe.HDF5_SIGNATURE + os.urandom(4000))
    refuses(path, "fake.h5")


# -- .keras archives --------------------------------------------------------------------------
def rewrite_zip_member(path, name, change):
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    config = json.loads(members[name])
    change(config)
    members[name] = json.dumps(config).encode()
    write_zip(path, members.items())


def write_zip(path, members):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members:
                archive.writestr(name, data)


def keras_members(tmp_path):
    make_model().save(tmp_path / "source.keras")
    with zipfile.ZipFile(tmp_path / "source.keras") as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "assets/../../evil", "C:/x"])
def test_zip_members_leaving_the_archive_are_refused(tmp_path, name):
    path = tmp_path / "m.keras"
    write_zip(path, [*keras_members(tmp_path), (name, b"x")])
    refuses(path, "leaves the archive")


def test_duplicate_zip_members_are_refused(tmp_path):
    members = keras_members(tmp_path)
    path = tmp_path / "m.keras"
    write_zip(path, [*members, ("config.json", b"{}")])
    refuses(path, "two members named 'config.json'")


def test_zip_bomb_declared_size_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    write_zip(path, keras_members(tmp_path))
    data = bytearray(path.read_bytes())
    # Make config.json declare ~4 GiB in the central directory (what zipfile trusts).
    start = data.index(b"PK\x01\x02")
    while data[start + 46 : start + 46 + 11] != b"config.json":
        start = data.index(b"PK\x01\x02", start + 4)
    data[start + 24 : start + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    refuses(path, "zip bomb")


def test_deflate_bomb_is_refused(tmp_path):
    members = dict(keras_members(tmp_path))
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", members["config.json"])
        # 64 MiB of zeros deflate to ~64 KiB: over the floor and ~1000x the stored bytes.
        archive.writestr("model.weights.h5", b"\0" * (1 << 26), compress_type=zipfile.ZIP_DEFLATED)
    refuses(path, "zip bomb")


def test_keras_zip_without_weights_or_config(tmp_path):
    members = dict(keras_members(tmp_path))
    path = tmp_path / "m.keras"
    write_zip(path, [("config.json", members["config.json"])])
    refuses(path, "model.weights.h5")
    write_zip(path, [("model.weights.h5", members["model.weights.h5"])])
    refuses(path, "config.json")


def test_keras_zip_weights_that_are_not_hdf5(tmp_path):
    members = dict(keras_members(tmp_path))
    members["model.weights.h5"] = b"not hdf5"
    path = tmp_path / "m.keras"
    write_zip(path, members.items())
    refuses(path, "model.weights.h5 in .*m.keras")


# -- fuzzing -----------------------------------------------------------------------------
_BASES: dict[str, bytes] = {}


def base_bytes(kind):
    """Valid files to mutate, made once: 'h5' and 'keras' (models), 'weights' (weights)."""
    if not _BASES:
        folder = tempfile.mkdtemp()
        try:
            model = make_model()
            model.save(os.path.join(folder, "m.h5"))
            model.save(os.path.join(folder, "m.keras"))
            model.save_weights(os.path.join(folder, "m.weights.h5"))
            for key, name in (("h5", "m.h5"), ("keras", "m.keras"), ("weights", "m.weights.h5")):
                with open(os.path.join(folder, name), "rb") as file:
                    _BASES[key] = file.read()
        finally:
            shutil.rmtree(folder)
    return _BASES[kind]


def load_or_refuse(kind, data):
    """Load mutated bytes: success or FileFormatError are the only acceptable outcomes."""
    folder = tempfile.mkdtemp()
    name = {"h5": "m.h5", "keras": "m.keras", "weights": "m.weights.h5"}[kind]
    path = os.path.join(folder, name)
    try:
        with open(path, "wb") as file:
            file.write(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if kind == "weights":
                    make_model(compile_it=False).load_weights(path)
                else:
                    load_model(path)
            except FileFormatError as error:
                assert str(error)
    finally:
        shutil.rmtree(folder)


# A fixed, bounded run in CI; GPUKERAS_FUZZ_EXAMPLES=5000 runs a long random one.
_LONG_FUZZ = os.environ.get("GPUKERAS_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(_LONG_FUZZ or 60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=not _LONG_FUZZ,
    database=None,
)
KINDS = st.sampled_from(["h5", "keras", "weights"])


@FUZZ
@given(
    kind=KINDS,
    flips=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
    ),
)
def test_fuzz_flipped_bytes(kind, flips):
    data = bytearray(base_bytes(kind))
    for where, value in flips:
        data[int(where * len(data))] = value
    load_or_refuse(kind, bytes(data))


@FUZZ
@given(kind=KINDS, keep=st.floats(0, 1, exclude_max=True))
def test_fuzz_truncated(kind, keep):
    data = base_bytes(kind)
    load_or_refuse(kind, data[: int(keep * len(data))])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def mutate_json(config, choices, value, delete):
    """Replace (or delete) one node of ``config``, chosen by ``choices``."""
    node, parent, key = config, None, None
    for choice in choices:
        if isinstance(node, dict) and node:
            keys = sorted(node, key=str)
            parent, key = node, keys[choice % len(keys)]
        elif isinstance(node, list) and node:
            parent, key = node, choice % len(node)
        else:
            break
        node = parent[key]
    if parent is None:
        return value
    if delete and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = value
    return config


@FUZZ
@given(
    in_zip=st.booleans(),
    choices=st.lists(st.integers(0, 50), min_size=1, max_size=7),
    value=JSON_VALUES,
    delete=st.booleans(),
)
def test_fuzz_json_configs(in_zip, choices, value, delete):
    if in_zip:
        with zipfile.ZipFile(io.BytesIO(base_bytes("keras"))) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        config = mutate_json(json.loads(members["config.json"]), choices, value, delete)
        members["config.json"] = json.dumps(config).encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        load_or_refuse("keras", buffer.getvalue())
        return
    buffer = io.BytesIO(base_bytes("h5"))
    with h5py.File(buffer, "a") as file:
        attribute = ["model_config", "training_config"][choices[0] % 2]
        config = mutate_json(json.loads(file.attrs[attribute]), choices[1:], value, delete)
        file.attrs[attribute] = json.dumps(config)
    load_or_refuse("h5", buffer.getvalue())


WEIGHT_PATHS = {
    "h5": ["model_weights/dense/dense/kernel:0", "model_weights/dense_1/dense_1/bias:0"],
    "weights": ["layers/dense/vars/0", "layers/dense_1/vars/1", "optimizer/vars/3"],
}


@FUZZ
@given(
    kind=st.sampled_from(["h5", "weights"]),
    which=st.integers(0, 2),
    shape=st.lists(st.integers(0, 6), max_size=3),
    dtype=st.sampled_from(["float16", "float32", "float64", "int8", "uint64", "bool", "S3"]),
    attribute=st.sampled_from([None, "layer_names", "weight_names", "keras_version"]),
    attribute_value=st.lists(
        st.text(st.characters(min_codepoint=1, exclude_categories=("Cs",)), max_size=6), max_size=3
    )
    | st.integers(-(2**62), 2**62),
)
def test_fuzz_datasets_and_attributes(kind, which, shape, dtype, attribute, attribute_value):
    buffer = io.BytesIO(base_bytes(kind))
    with h5py.File(buffer, "a") as file:
        path = WEIGHT_PATHS[kind][which % len(WEIGHT_PATHS[kind])]
        del file[path]
        file.create_dataset(path, shape=tuple(shape), dtype=np.dtype(dtype))
        if attribute is not None:
            target = file["model_weights"] if kind == "h5" else file
            if attribute == "weight_names" and kind == "h5":
                target = file["model_weights/dense"]
            value = attribute_value
            if isinstance(value, list):
                value = np.array(value, dtype=h5py.string_dtype())
            target.attrs[attribute] = value
    load_or_refuse(kind, buffer.getvalue())
