"""The functional API's graph: Input, KerasTensors, Model(inputs, outputs) and its parts."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 6)).astype("float32")


def _chain():
    inputs = keras.Input(shape=(6,), name="features")
    hidden = layers.Dense(5, activation="relu", name="hidden")(inputs)
    outputs = layers.Dense(2, name="head")(hidden)
    return inputs, hidden, outputs


def test_input_returns_a_keras_tensor_with_batch_axis_dtype_and_history():
    x = keras.Input(shape=(3, 4), batch_size=8, dtype="int32", name="ids")
    assert isinstance(x, keras.KerasTensor) and isinstance(x, layers.KerasTensor)
    assert x.shape == (8, 3, 4) and x.dtype == "int32" and x.name == "ids" and x.ndim == 3
    operation, node_index, tensor_index = x._keras_history
    assert isinstance(operation, layers.InputLayer) and (node_index, tensor_index) == (0, 0)
    assert keras.layers.Input is keras.Input
    assert keras.Input(batch_shape=(None, 2)).shape == (None, 2)


def test_input_refuses_sparse_and_bad_shapes_naming_the_value():
    with pytest.raises(ValueError, match="sparse=True"):
        keras.Input(shape=(2,), sparse=True)
    with pytest.raises(ValueError, match="shape"):
        keras.Input(shape=(0,))


def test_calling_a_layer_on_a_keras_tensor_builds_it_and_records_a_node():
    x = keras.Input(shape=(6,))
    dense = layers.Dense(4)
    y = dense(x)
    assert isinstance(y, keras.KerasTensor) and y.shape == (None, 4)
    assert dense.built and len(dense.weights) == 2
    assert y._keras_history.operation is dense and dense._inbound_nodes[0].outputs is y


def test_a_keras_tensor_has_no_value():
    x = keras.Input(shape=(2,))
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(x)
    with pytest.raises(TypeError, match="truth value"):
        bool(x)


def test_a_functional_model_predicts_what_its_layers_compute(xp):
    inputs, hidden, outputs = _chain()
    model = keras.Model(inputs, outputs, name="chain")
    assert type(model).__name__ == "Functional" and isinstance(model, keras.Model)
    assert model.name == "chain"
    first, second = model.get_layer("hidden"), model.get_layer("head")
    expected = second(first(X))
    np.testing.assert_allclose(model.predict(X, verbose=0), K.to_host(expected), rtol=1e-6)
    np.testing.assert_allclose(K.to_host(model(X)), K.to_host(expected), rtol=1e-6)


def test_model_takes_inputs_and_outputs_by_keyword():
    inputs, _, outputs = _chain()
    model = keras.Model(inputs=inputs, outputs=outputs)
    assert model.input is inputs and model.output is outputs


def test_weights_exist_at_construction():
    inputs, _, outputs = _chain()
    model = keras.Model(inputs, outputs)
    assert model.count_params() == 6 * 5 + 5 + 5 * 2 + 2
    model.set_weights([np.ones(w.shape, "float32") for w in model.weights])
    assert all((w == 1).all() for w in model.get_weights())
    lines = []
    model.summary(print_fn=lines.append)
    assert any("hidden" in line for line in lines)


def test_structure_accessors_follow_keras():
    inputs, hidden, outputs = _chain()
    model = keras.Model(inputs, outputs)
    assert [layer.name for layer in model.layers] == ["features", "hidden", "head"]
    assert model.inputs == [inputs] and model.outputs == [outputs]
    assert model.input_names == ["features"] and model.output_names == ["head"]
    assert model.get_layer(index=1).name == "hidden"
    assert model.input_shape == (None, 6) and model.output_shape == (None, 2)
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        model.get_layer("nope")


def test_list_and_dict_inputs_and_outputs(xp):
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(2,), name="b")
    joined = ops.concatenate([layers.Dense(4, name="da")(a), layers.Dense(4, name="db")(b)], 1)
    out1, out2 = layers.Dense(1, name="one")(joined), layers.Dense(2, name="two")(joined)
    xa, xb = X[:4, :3], X[:4, 3:5]

    as_lists = keras.Model([a, b], [out1, out2])
    first, second = as_lists([xa, xb])
    assert tuple(first.shape) == (4, 1) and tuple(second.shape) == (4, 2)
    by_name = as_lists({"a": xa, "b": xb})
    np.testing.assert_allclose(K.to_host(by_name[1]), K.to_host(second), rtol=1e-6)

    as_dicts = keras.Model({"a": a, "b": b}, {"x": out1, "y": out2})
    result = as_dicts({"b": xb, "a": xa})
    assert set(result) == {"x", "y"} and as_dicts.output_names == ["x", "y"]
    np.testing.assert_allclose(K.to_host(result["y"]), K.to_host(second), rtol=1e-6)
    with pytest.raises(ValueError, match=r"no data for input\(s\) \['b'\]"):
        as_dicts({"a": xa})


def test_ops_and_operators_on_keras_tensors_record_nodes(xp):
    x = keras.Input(shape=(4,))
    y = ops.relu(x * 2.0 - 1.0)
    z = ops.concatenate([y, x[:, :2]], axis=-1)
    assert y.shape == (None, 4) and z.shape == (None, 6)
    model = keras.Model(x, z)
    assert [layer.name for layer in model.layers] == [x.name]  # ops are not layers
    got = K.to_host(model(X[:3, :4]))
    expected = np.concatenate([np.maximum(X[:3, :4] * 2 - 1, 0), X[:3, :2]], axis=-1)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_an_op_with_a_bad_shape_fails_where_the_graph_is_built():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(4,))
    with pytest.raises(Exception, match="shapes"):
        ops.add(a, b)


def test_an_input_not_in_inputs_is_named_in_the_error():
    a, b = keras.Input(shape=(3,), name="first"), keras.Input(shape=(3,), name="second")
    out = layers.Dense(1)(ops.add(a, b))
    with pytest.raises(ValueError, match="Graph disconnected.*second"):
        keras.Model(a, out)


def test_outputs_that_are_not_keras_tensors_are_refused():
    x = keras.Input(shape=(3,))
    with pytest.raises(TypeError, match="outputs"):
        keras.Model(x, [layers.Dense(1)(x), np.zeros(3)])


def test_a_layer_called_on_data_and_keras_tensors_together_is_refused():
    x = keras.Input(shape=(3,))
    layer = keras.layers.Lambda(lambda pair: pair[0] + pair[1])
    with pytest.raises(TypeError, match="mix of KerasTensors and data"):
        layer([x, np.zeros((1, 3), "float32")])


def test_sub_graph_model_extracts_features_from_a_middle_layer(xp):
    inputs, _, outputs = _chain()
    model = keras.Model(inputs, outputs)
    extractor = keras.Model(model.input, model.get_layer("hidden").output)
    features = extractor.predict(X, verbose=0)
    expected = model.get_layer("hidden")(X)
    np.testing.assert_allclose(features, K.to_host(expected), rtol=1e-6)
    assert extractor.get_layer("hidden") is model.get_layer("hidden")


def test_layers_are_in_keras_depth_order():
    x = keras.Input(shape=(4,), name="x")
    a = layers.Dense(3, name="a")(x)
    b = layers.Dense(3, name="b")(x)
    c = layers.Dense(3, name="c")(a)
    out = ops.add(c, b)
    model = keras.Model(x, out)
    assert [layer.name for layer in model.layers] == ["x", "a", "c", "b"]


def test_intermediate_values_are_freed_after_their_last_use():
    from gpukeras.models.functional._graph import Graph

    x = keras.Input(shape=(4,))
    a = layers.Dense(3)(x)
    b = layers.Dense(3)(a)
    c = layers.Dense(3)(b)
    graph = Graph([x], [ops.add(c, a)])
    positions = {id(node.output_tensors[0]): i for i, node in enumerate(graph.nodes)}
    # a is read last by the add, b only by the third Dense right after it
    assert graph.last_use[id(b)] == positions[id(c)]
    assert graph.last_use[id(a)] == len(graph.nodes) - 1
