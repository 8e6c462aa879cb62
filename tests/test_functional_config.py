"""Functional model configs are checked and ordered before anything is built.

The configs here are written by hand in Keras 3's node format (and Keras 2's list
format); the fixtures in tests/fixtures/functional/ are Keras 3.15's own. Hostile
configs must be refused with a FileFormatError that names what is wrong.
"""

from __future__ import annotations

import copy
import json
import os
import zipfile

import h5py
import pytest

from gpukeras.saving import FileFormatError
from gpukeras.saving._functional_build import replay
from gpukeras.saving._functional_config import (
    MAX_CALLS,
    MAX_MODEL_DEPTH,
    MAX_REFERENCES,
    TensorRef,
    check_depth,
    parse_functional,
)
from gpukeras.saving._layer_entries import plain

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "functional")
# Each fixture's outputs, spelled as the calls that make them.
FIXTURE_GRAPHS = {
    "two_io": [
        "cls(join(shared(left_proj(left)),shared(right_proj(right))))",
        "reg(shared(right_proj(right)))",
    ],
    "residual": "head(after_skip(skip(x,block_2(block_1(x)))))",
    "inception": "head(flat(mixed(tower_1x1(image),tower_3x3(image),tower_pool(image))))",
    "siamese": "cosine(embed(embed_hidden(first)),embed(embed_hidden(second)))",
    "nested_sequential": "new_head(base_seq(x))",
    "nested_functional": "new_head(base_fn(x))",
    "features": "features(hidden(x))",
}


def tensor(layer, node=0, index=0):
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, 2], "dtype": "float32", "keras_history": [layer, node, index]},
    }


def layer(name, *calls, class_name="Dense"):
    return {
        "class_name": class_name,
        "config": {"name": name},
        "name": name,
        "inbound_nodes": [{"args": list(args), "kwargs": {}} for args in calls],
    }


def input_layer(name):
    return layer(name, class_name="InputLayer")


def config(layers, inputs, outputs):
    return {"name": "m", "trainable": True, "layers": layers, "input_layers": inputs,
            "output_layers": outputs}  # fmt: skip


def shared_config():
    """x -> a -> shared; y -> shared (a second call); add(shared#0, shared#1)."""
    return config(
        [
            input_layer("x"),
            input_layer("y"),
            layer("a", [tensor("x")]),
            layer("shared", [tensor("a")], [tensor("y")]),
            layer("add", [[tensor("shared", 0), tensor("shared", 1)]], class_name="Add"),
        ],
        [["x", 0, 0], ["y", 0, 0]],
        [["add", 0, 0]],
    )


def spelled(value):
    if isinstance(value, list):
        return ",".join(spelled(item) for item in value)
    return value


def trace(spec):
    """(inputs, outputs) with each tensor spelled as the calls that made it: 'a(x)'."""
    return replay(
        spec, lambda name: name, lambda call, args, kwargs: f"{call.layer}({spelled(args)})", "t"
    )


# -- what parses -------------------------------------------------------------------------------
def test_calls_are_ordered_so_each_tensor_exists_before_use():
    entries = shared_config()
    entries["layers"].reverse()  # the order in the file does not matter
    spec = parse_functional(entries, "t")
    assert [call.layer for call in spec.calls] == ["a", "shared", "shared", "add"]
    inputs, outputs = trace(spec)
    assert inputs == ["x", "y"]
    assert outputs == ["add(shared(a(x)),shared(y))"]


def test_a_layer_shared_at_different_depths_keeps_its_call_order():
    # shared(a(shared(x))): the second call of `shared` needs the first.
    spec = parse_functional(
        config(
            [
                input_layer("x"),
                layer("shared", [tensor("x")], [tensor("a")]),
                layer("a", [tensor("shared", 0)]),
            ],
            ["x", 0, 0],
            ["shared", 1, 0],
        ),
        "t",
    )
    assert [call.layer for call in spec.calls] == ["shared", "a", "shared"]
    assert trace(spec)[1] == "shared(a(shared(x)))"


def test_single_inputs_and_dict_outputs_keep_their_structure():
    entries = shared_config()
    entries["input_layers"] = ["x", 0, 0]
    entries["layers"] = entries["layers"][:3]
    entries["output_layers"] = {"first": ["a", 0, 0], "again": ["a", 0, 0]}
    spec = parse_functional(entries, "t")
    assert spec.inputs == TensorRef("x", 0, 0)
    assert spec.outputs == {"first": TensorRef("a", 0, 0), "again": TensorRef("a", 0, 0)}


def test_nested_functional_models_count_their_calls_from_one_in_outputs():
    entries = config(
        [input_layer("x"), layer("base", [tensor("x")], class_name="Functional")],
        ["x", 0, 0],
        ["base", 1, 0],
    )
    assert parse_functional(entries, "t").outputs == TensorRef("base", 0, 0)
    entries["output_layers"] = ["base", 0, 0]
    with pytest.raises(FileFormatError, match=r"node 0 of layer 'base'.*indices 1\.\.1"):
        parse_functional(entries, "t")


def test_keras2_list_calls_are_read():
    entries = shared_config()
    entries["layers"][2]["inbound_nodes"] = [[["x", 0, 0, {}]]]
    entries["layers"][4]["inbound_nodes"] = [[["shared", 0, 0, {}], ["shared", 1, 0, {}]]]
    spec = parse_functional(entries, "t")
    assert spec.calls[-1].args == [[TensorRef("shared", 0, 0), TensorRef("shared", 1, 0)]]
    assert spec.calls[0].args == [TensorRef("x", 0, 0)]


@pytest.mark.parametrize("name", sorted(FIXTURE_GRAPHS))
@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_keras_fixture_configs_give_their_graphs(name, kind):
    path = os.path.join(FIXTURES, f"{name}.{kind}")
    if kind == "keras":
        with zipfile.ZipFile(path) as archive:
            model_config = json.loads(archive.read("config.json"))
    else:
        with h5py.File(path) as file:
            model_config = json.loads(file.attrs["model_config"])
    spec = parse_functional(plain(model_config)["config"], path)
    assert trace(spec)[1] == FIXTURE_GRAPHS[name]


# -- what is refused ---------------------------------------------------------------------------
def refused(entries, match):
    with pytest.raises(FileFormatError, match=match):
        parse_functional(entries, "file.keras")


def test_a_cycle_is_refused_naming_its_layers():
    entries = config(
        [input_layer("x"), layer("a", [tensor("b")]), layer("b", [tensor("a")])],
        ["x", 0, 0],
        ["b", 0, 0],
    )
    refused(entries, r"cycle.*'a', 'b'")


def test_a_layer_calling_itself_is_refused():
    entries = config([input_layer("x"), layer("a", [tensor("a")])], ["x", 0, 0], ["a", 0, 0])
    refused(entries, r"cycle.*'a'")


@pytest.mark.parametrize("history", [["a", 1, 0], ["x", 1, 0]])
def test_node_index_out_of_range_is_refused(history):
    entries = shared_config()
    entries["layers"][3]["inbound_nodes"][0]["args"] = [tensor(*history)]
    refused(entries, rf"uses node 1 of layer '{history[0]}', which has 1 node")


@pytest.mark.parametrize(
    "history", [["a", -1, 0], ["a", 0, -2], ["a", "0", 0], ["a", 0, True], ["a", 0], "a", None]
)
def test_malformed_keras_history_is_refused(history):
    entries = shared_config()
    entries["layers"][3]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = history
    refused(entries, r"expected \[layer name, node index, tensor index\]")


def test_absurd_tensor_index_is_refused_from_the_config():
    entries = shared_config()
    entries["layers"][3]["inbound_nodes"][0]["args"] = [tensor("a", 0, 10**9)]
    refused(entries, "no layer has that many outputs")


def test_tensor_index_past_the_calls_outputs_is_refused_when_replayed():
    entries = shared_config()
    entries["layers"][3]["inbound_nodes"][0]["args"] = [tensor("a", 0, 1)]
    spec = parse_functional(entries, "t")
    with pytest.raises(FileFormatError, match=r"output 1 of call 0 of layer 'a', which has 1"):
        trace(spec)


def test_a_layer_name_used_twice_is_refused():
    entries = shared_config()
    entries["layers"].append(layer("a", [tensor("x")]))
    refused(entries, "the layer name 'a' is used twice")


def test_an_unknown_layer_is_refused():
    entries = shared_config()
    entries["layers"][2]["inbound_nodes"][0]["args"] = [tensor("ghost")]
    refused(entries, "uses a tensor of layer 'ghost', which the model does not list")


@pytest.mark.parametrize("key", ["input_layers", "output_layers"])
def test_unknown_layers_in_inputs_or_outputs_are_refused(key):
    entries = shared_config()
    entries[key] = [["ghost", 0, 0]]
    refused(entries, "'ghost', which the model does not list")


def test_inputs_must_be_input_layers_and_cover_the_graph():
    entries = shared_config()
    entries["input_layers"] = [["x", 0, 0], ["a", 0, 0]]
    refused(entries, "'input_layers' names 'a', a 'Dense', not an InputLayer")
    entries["input_layers"] = [["x", 0, 0]]
    refused(entries, "uses input 'y', which is not in 'input_layers'")


def test_an_input_layer_with_calls_is_refused():
    entries = shared_config()
    entries["layers"][0]["inbound_nodes"] = [{"args": [tensor("y")], "kwargs": {}}]
    refused(entries, "InputLayer 'x' has inbound nodes")


def test_100000_calls_are_refused_by_counting_first():
    one_call = {"args": [tensor("x")], "kwargs": {}}
    entries = config(
        [input_layer("x"), {**layer("a"), "inbound_nodes": [one_call] * 100_000}],
        ["x", 0, 0],
        ["a", 0, 0],
    )
    refused(entries, f"more than {MAX_CALLS} layer calls")


def test_many_layers_are_refused():
    entries = config([input_layer(f"x{i}") for i in range(5000)], ["x0", 0, 0], ["x0", 0, 0])
    refused(entries, "lists 5000 layers")


def test_too_many_tensor_references_are_refused():
    many = [tensor("x")] * (MAX_REFERENCES + 1)
    entries = config([input_layer("x"), layer("cat", [many])], ["x", 0, 0], ["cat", 0, 0])
    refused(entries, f"name more than {MAX_REFERENCES} tensors")


def test_deeply_nested_arguments_are_refused():
    args = [tensor("x")]
    for _ in range(40):
        args = [args]
    entries = config([input_layer("x"), layer("a", args)], ["x", 0, 0], ["a", 0, 0])
    refused(entries, "nested too deeply")


def test_deeply_nested_models_are_refused():
    check_depth(MAX_MODEL_DEPTH, "f")
    with pytest.raises(FileFormatError, match="nests models more than"):
        parse_functional(shared_config(), "f", depth=MAX_MODEL_DEPTH + 1)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda c: c.pop("layers"), "no 'layers' list"),
        (lambda c: c.pop("output_layers"), "no 'output_layers'"),
        (lambda c: c.update(output_layers=[]), "must hold \\[layer, node, tensor\\]"),
        (lambda c: c["layers"][2].pop("inbound_nodes"), "an 'inbound_nodes' list"),
        (lambda c: c["layers"][2].update(inbound_nodes=[5]), "neither Keras 3's"),
        (lambda c: c["layers"][2].update(name=None, config={}), "layer #2 has no name"),
        (
            lambda c: c["layers"][2]["inbound_nodes"][0].update(args={"a": 1}),
            "needs an 'args' list",
        ),
        (lambda c: c["layers"][2].update(inbound_nodes=[[["x", 0]]]), "not \\[layer, node"),
    ],
)
def test_malformed_configs_are_refused(change, match):
    entries = copy.deepcopy(shared_config())
    change(entries)
    refused(entries, match)
