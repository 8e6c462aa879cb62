"""Hostile functional configs inside real files: load_model refuses them with FileFormatError.

Each case edits config.json of a Keras-made fixture (tests/fixtures/functional/); the
fuzz test mutates it at random and accepts only a loaded model or a FileFormatError.
"""

from __future__ import annotations

import json
import os
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpukeras.models import load_model
from gpukeras.saving import FileFormatError
from gpukeras.saving._config import model_from_config
from gpukeras.saving._functional_config import MAX_CALLS, MAX_MODEL_DEPTH
from tests.test_functional_config import FIXTURES, config, input_layer, layer, tensor
from tests.test_saving_hostile import JSON_VALUES, mutate_json


def keras_file_with(tmp_path, change, name="siamese"):
    """A copy of a Keras-made .keras fixture whose config.json went through ``change``."""
    source = os.path.join(FIXTURES, f"{name}.keras")
    target = tmp_path / f"{name}.keras"
    with zipfile.ZipFile(source) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    model_config = json.loads(members["config.json"])
    change(model_config)
    members["config.json"] = json.dumps(model_config).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return target


def entry_named(model_config, name):
    return next(e for e in model_config["config"]["layers"] if e["name"] == name)


def first_history(model_config, name):
    return entry_named(model_config, name)["inbound_nodes"][0]["args"][0]["config"]["keras_history"]


def _cycle(c):
    first_history(c, "embed_hidden")[:] = ["embed", 0, 0]


def _duplicate(c):
    entry_named(c, "embed")["config"]["name"] = "embed_hidden"
    entry_named(c, "embed")["name"] = "embed_hidden"


def _node_out_of_range(c):
    first_history(c, "embed")[1] = 5


def _unknown(c):
    first_history(c, "embed")[0] = "ghost"


def _many_calls(c):
    entry = entry_named(c, "embed_hidden")
    entry["inbound_nodes"] = entry["inbound_nodes"][:1] * 100_000


def _input_is_not_declared(c):
    c["config"]["input_layers"] = c["config"]["input_layers"][:1]


@pytest.mark.parametrize(
    "change, match",
    [
        (_cycle, r"the graph has a cycle; .*'embed', 'embed_hidden'"),
        (_duplicate, "the layer name 'embed_hidden' is used twice"),
        (_node_out_of_range, "uses node 5 of layer 'embed_hidden', which has 2 node"),
        (_unknown, "layer 'ghost', which the model does not list"),
        (_many_calls, f"more than {MAX_CALLS} layer calls"),
        (_input_is_not_declared, "uses input 'second', which is not in 'input_layers'"),
    ],
    ids=["cycle", "duplicate-name", "node-index", "unknown-layer", "100000-calls", "input"],
)
def test_hostile_functional_files_are_refused(tmp_path, change, match):
    with pytest.raises(FileFormatError, match=match):
        load_model(keras_file_with(tmp_path, change))


def test_a_tensor_index_past_a_calls_outputs_is_refused_in_a_file(tmp_path):
    def change(c):
        first_history(c, "embed")[2] = 1

    with pytest.raises(FileFormatError, match="output 1 of call 0 of layer 'embed_hidden'"):
        load_model(keras_file_with(tmp_path, change))


def nested_functional_entry(levels):
    """A functional model entry holding a functional model holding ... ``levels`` deep."""
    inner = layer("leaf", [tensor("in0")])
    inner["config"] = {"name": "leaf", "units": 2}
    for level in range(levels):
        inp = {
            **input_layer(f"in{level}"),
            "config": {"batch_shape": [None, 2], "name": f"in{level}"},
        }
        inner["inbound_nodes"] = [{"args": [tensor(f"in{level}")], "kwargs": {}}]
        body = config([inp, inner], [f"in{level}", 0, 0], [inner["name"], 1 if level else 0, 0])
        inner = {"class_name": "Functional", "config": {**body, "name": f"m{level}"},
                 "name": f"m{level}", "inbound_nodes": []}  # fmt: skip
    return inner


def test_models_nested_too_deeply_are_refused_in_a_file(tmp_path):
    def change(c):
        c["config"] = nested_functional_entry(MAX_MODEL_DEPTH + 2)["config"]

    with pytest.raises(FileFormatError, match=f"nests models more than {MAX_MODEL_DEPTH} deep"):
        load_model(keras_file_with(tmp_path, change, name="nested_functional"))


def test_models_nested_a_few_levels_load(tmp_path):
    model = model_from_config(nested_functional_entry(4), None, True, "t")
    assert [layer.name for layer in model.layers] == ["in3", "m2"]
    assert model.get_layer("m2").get_layer("m1").get_layer("m0").get_layer("leaf").units == 2


def test_a_very_deep_chain_loads_or_is_refused_but_never_crashes():
    entries = [{**input_layer("x"), "config": {"batch_shape": [None, 2], "name": "x"}}]
    for index in range(3000):
        entry = layer(f"d{index}", [tensor(entries[-1]["name"])])
        entry["config"] = {"name": f"d{index}", "units": 2}
        entries.append(entry)
    model_config = {"class_name": "Functional", "config": config(entries, ["x", 0, 0],
                                                                 ["d2999", 0, 0])}  # fmt: skip
    try:
        model = model_from_config(model_config, None, True, "deep.keras")
    except FileFormatError as error:
        assert "deep.keras" in str(error)
    else:
        assert len(model.layers) == 3001


@settings(max_examples=int(os.environ.get("GPUKERAS_FUZZ_EXAMPLES") or 80), deadline=None,
          derandomize=not os.environ.get("GPUKERAS_FUZZ_EXAMPLES"), database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    name=st.sampled_from(["two_io", "siamese", "nested_functional", "inception"]),
    choices=st.lists(st.integers(0, 50), min_size=1, max_size=12),
    value=JSON_VALUES,
    delete=st.booleans(),
)
def test_fuzz_functional_configs_load_or_are_refused(
    tmp_path_factory, name, choices, value, delete
):
    folder = tmp_path_factory.mktemp("fuzz")
    path = keras_file_with(folder, lambda c: mutate_json(c, choices, value, delete), name)
    try:
        model = load_model(path, compile=False)
    except FileFormatError as error:
        assert str(error)
    else:
        assert model.built


def test_a_class_standing_in_for_input_layer_is_refused(tmp_path):
    from gpukeras.layers import Layer

    class NotAnInput(Layer):
        def __init__(self, name=None, **ignored):
            super().__init__(name=name)

    path = keras_file_with(tmp_path, lambda c: None)
    with pytest.raises(FileFormatError, match="input 'first' was built as NotAnInput"):
        load_model(path, custom_objects={"InputLayer": NotAnInput})


def test_a_config_asking_for_an_absurd_model_is_refused_without_allocating(tmp_path):
    def change(c):
        entry_named(c, "first")["config"]["batch_shape"] = [None, 2**20]
        entry_named(c, "second")["config"]["batch_shape"] = [None, 2**20]
        entry_named(c, "embed_hidden")["config"]["units"] = 2**20  # a 4 TiB kernel

    with pytest.raises(FileFormatError, match="memory|mismatch"):
        load_model(keras_file_with(tmp_path, change))


def test_unusable_compile_settings_leave_the_model_uncompiled(tmp_path):
    def change(c):
        c["compile_config"] = {"optimizer": "adam", "loss": "no_such_loss"}

    with pytest.warns(UserWarning, match="returned uncompiled"):
        model = load_model(keras_file_with(tmp_path, change))
    assert not model.compiled and getattr(model, "optimizer", None) is None
