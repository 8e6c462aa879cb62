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
    assert set(result) == {"x", "y"} and as_dicts.output_names == ["one", "two"]
    assert as_dicts.input_shape == [(None, 3), (None, 2)]
    np.testing.assert_allclose(K.to_host(result["y"]), K.to_host(second), rtol=1e-6)
    with pytest.raises(ValueError, match=r"no data for input\(s\) \['b'\]"):
        as_dicts({"a": xa})


def test_one_tensor_in_a_list_has_one_shape_and_predicts_an_array(xp):
    inputs, _, outputs = _chain()
    model = keras.Model([inputs], [outputs])
    assert model.input_shape == (None, 6) and model.output_shape == (None, 2)
    assert isinstance(model.output, list)
    assert isinstance(model.predict(X, verbose=0), np.ndarray)


def test_trainable_given_to_the_model_sets_its_layers():
    inputs, _, outputs = _chain()
    model = keras.Model(inputs, outputs, trainable=False)
    assert not model.get_layer("hidden").trainable and model.trainable_weights == []


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


def test_ops_that_read_a_keras_tensor_answer_from_its_spec():
    x = keras.Input(shape=(3, 4), dtype="float16")
    assert ops.shape(x) == (None, 3, 4) and ops.ndim(x) == 3 and ops.dtype(x) == "float16"
    assert ops.argmax(x, axis=-1).dtype == "int32" and (x > 0).dtype == "bool"
    assert ops.reshape(x, (-1, 12)).shape == (None, 12)


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
    with pytest.raises(ValueError, match="All `outputs` values must be KerasTensors"):
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


class _Remember(layers.Layer):
    """Passes a copy on and keeps only a weak reference to it."""

    def call(self, inputs):
        import weakref

        out = inputs * 1.0
        self.ref = weakref.ref(out)
        return out


class _SeesWhetherAlive(layers.Layer):
    def __init__(self, remember, **kwargs):
        super().__init__(**kwargs)
        self.remember_ref = lambda: remember.ref
        self.alive = []

    def call(self, inputs):
        self.alive.append(self.remember_ref()() is not None)
        return inputs


@pytest.mark.numpy_only("a weak reference to the intermediate NumPy array")
def test_an_intermediate_array_is_dropped_once_its_last_reader_ran():
    x = keras.Input(shape=(4,))
    remember = _Remember()
    doubled = ops.multiply(remember(x), 2.0)  # the last reader of remember's output
    watcher = _SeesWhetherAlive(remember)
    model = keras.Model(x, watcher(doubled))
    model(X[:2, :4])
    assert watcher.alive[-1] is False


def test_two_layers_with_one_name_are_refused():
    x = keras.Input(shape=(4,))
    out = layers.Dense(2, name="same")(layers.Dense(3, name="same")(x))
    with pytest.raises(ValueError, match="'same' is used 2 times"):
        keras.Model(x, out)


def test_an_unused_input_is_kept_and_must_be_fed():
    a, b = keras.Input(shape=(4,), name="used"), keras.Input(shape=(2,), name="unused")
    model = keras.Model([a, b], layers.Dense(1)(a))
    assert [layer.name for layer in model.layers][:2] == ["used", "unused"]
    assert tuple(model([X[:3, :4], X[:3, :2]]).shape) == (3, 1)
    with pytest.raises(ValueError, match=r"expects 2 input\(s\)"):
        model([X[:3, :4]])


def test_layer_input_and_output_are_its_first_call_and_need_a_call():
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(4,))
    shared = layers.Dense(2)
    first, _ = shared(a), shared(b)
    assert shared.input is a and shared.output is first
    with pytest.raises(AttributeError, match="has never been called"):
        _ = layers.Dense(2).output


def test_data_of_the_wrong_shape_is_refused_before_any_layer_sees_it():
    inputs, _, outputs = _chain()
    model = keras.Model(inputs, outputs)
    with pytest.raises(ValueError, match=r"expected shape=\(None, 6\), found shape=\(2, 3\)"):
        model(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"expects 1 input\(s\)"):
        model([np.zeros((2, 6)), np.zeros((2, 6))])


def test_data_is_converted_to_the_inputs_dtype_and_rank(xp):
    small, ids = keras.Input(shape=(2,), dtype="float16"), keras.Input(shape=(2,), dtype="int32")
    model = keras.Model((small, ids), (small + 2, ids + 2))
    halves, integers = model((np.ones((2, 2)), np.ones((2, 2))))
    assert halves.dtype == np.float16 and integers.dtype == np.int32
    column = keras.Input(shape=(3, 1))
    widened = keras.Model(column, layers.Dense(2)(column))
    assert tuple(widened(np.ones((4, 3), "float32")).shape) == (4, 3, 2)
    inputs, _, outputs = _chain()
    assert tuple(keras.Model(inputs, outputs)(np.ones((4, 6, 1), "float32")).shape) == (4, 2)


def test_nested_dict_inputs_and_extra_keys(xp):
    one, two = keras.Input((1,), name="one"), keras.Input((2,), name="two")
    model = keras.Model(
        {"1": one, "others": {"2": two}}, {"sum": ops.sum(two, axis=-1) + one[:, 0]}
    )
    data = {"1": np.ones((3, 1), "float32"), "others": {"2": np.ones((3, 2), "float32")}}
    np.testing.assert_allclose(K.to_host(model(data)["sum"]), np.full(3, 3.0))
    with pytest.warns(UserWarning, match="doesn't match the expected structure"):
        model({**data, "extra": np.zeros((3, 1))})
    with pytest.raises(ValueError, match="expects named input"):
        model(np.ones((3, 1), "float32"))


class _TrainingOnly(layers.Layer):
    """Would fail a probe in inference mode; says its output through compute_output_spec."""

    def call(self, x, training=False):
        assert training
        return x[:, :2]

    def compute_output_spec(self, x, training=False):
        return keras.KerasTensor((x.shape[0], 2), dtype=x.dtype)


def test_a_layers_compute_output_spec_gives_its_symbolic_output(xp):
    x = keras.Input(shape=(6,))
    out = _TrainingOnly()(x)
    assert out.shape == (None, 2)
    model = keras.Model(x, out)
    assert tuple(model(X[:3], training=True).shape) == (3, 2)
    with pytest.raises(AttributeError, match="reserved"):
        model.layers = []


def test_a_model_from_intermediate_tensors_gets_new_inputs_and_shares_weights(xp):
    inputs = keras.Input(shape=(None, 2), name="input")
    x1 = layers.Dense(3, name="dense1")(inputs)
    x2 = layers.Dense(4, name="dense2")(x1)
    outputs = layers.Dense(5, name="dense3")(x2)
    full = keras.Model(inputs, outputs)
    assert len(full.layers) == 4
    tail = keras.Model(x2, outputs)
    assert [type(layer).__name__ for layer in tail.layers] == ["InputLayer", "Dense"]
    assert tail.layers[1] is full.get_layer("dense3")
    middle = keras.Model(x1, x2)
    data = np.ones((2, 7, 2), "float32")
    chained = K.to_host(tail(middle(full.get_layer("dense1")(data))))
    np.testing.assert_allclose(chained, K.to_host(full(data)), rtol=1e-6)


def test_a_cycle_is_refused_naming_the_tensor():
    from gpukeras.layers._node import Node

    x = keras.Input(shape=(2,))
    looped = keras.KerasTensor((None, 2), name="looped")
    Node(layers.Dense(2, name="loop"), (ops.add(x, looped),), {}, looped)  # feeds itself
    with pytest.raises(ValueError, match="'looped'.*part of a cycle"):
        keras.Model(x, looped)


def test_lambda_layers_on_several_keras_tensors(xp):
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    product = layers.Lambda(lambda pair: pair[0] * pair[1])([a, b])
    total = layers.Lambda(lambda t: ops.sum(t, axis=-1, keepdims=True))(product)
    assert product.shape == (None, 3) and total.shape == (None, 1)
    model = keras.Model([a, b], total)
    got = model([np.ones((2, 3), "float32"), np.full((2, 3), 2.0, "float32")])
    np.testing.assert_allclose(K.to_host(got), np.full((2, 1), 6.0))
