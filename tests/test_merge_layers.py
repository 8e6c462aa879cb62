"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot):
values and gradients against Keras 3 on JAX, finite differences, shapes, masks, errors,
configs, the tape, and training inside a subclassed model.

Fixtures: tests/make_merge_fixtures.py, from the cases in tests/fixtures/merge_cases.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import autodiff, layers, ops
from gpukeras import backend as K
from gpukeras.layers import _serialization
from gpukeras.utils import check_gradients
from tests.fixtures.merge_cases import (
    MASKED,
    MERGE_CASES,
    TIED,
    TRAINING,
    branches_model_class,
    case_inputs,
    case_masks,
)

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "merge_layers.npz")
F64 = {"dtype": "float64"}


def _make(case: str, **extra):
    class_name, kwargs, _ = MERGE_CASES[case]
    return getattr(layers, class_name)(**kwargs, **extra)


# -- values and gradients ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MERGE_CASES))
def test_output_and_input_gradients_match_keras_on_jax(xp, name):
    count = len(MERGE_CASES[name][2])
    host_inputs = [FIXTURE[f"{name}/input{i}"] for i in range(count)]
    inputs = [xp.asarray(x) for x in host_inputs]
    masks = [xp.asarray(m) for m in case_masks(host_inputs)] if name in MASKED else None
    layer = _make(name)
    y, _, pullback = layer.forward_with_pullback(inputs, False, masks)
    np.testing.assert_allclose(K.to_host(y), FIXTURE[f"{name}/output"], rtol=1e-5, atol=1e-6)
    grads, weight_grads = pullback(K.to_device(FIXTURE[f"{name}/r"]))
    assert weight_grads == [] and len(grads) == count
    for i, grad in enumerate(grads):
        assert tuple(grad.shape) == inputs[i].shape
        got = K.to_host(grad)
        if masks is not None:  # Keras's Masking layer zeroes the masked steps' gradient
            got = got * case_masks(host_inputs)[i][..., None]
        np.testing.assert_allclose(
            got, FIXTURE[f"{name}/grad{i}"], rtol=1e-5, atol=1e-6, err_msg=f"grad{i}"
        )


@pytest.mark.parametrize("name", sorted(set(MERGE_CASES) - TIED))
def test_backward_matches_float64_finite_differences(backend_name, name):
    inputs = case_inputs(name, np.random.default_rng(5))
    layer = _make(name, **F64)
    if name in MASKED:  # forward reads the masks forward_tracked would set
        layer.input_mask = [K.to_device(m) for m in case_masks(inputs)]
    errors = check_gradients(layer, inputs)
    assert set(errors) == {f"input[{i}]" for i in range(len(inputs))}


def test_add_broadcasting_sums_the_gradient_over_the_broadcast_axes(xp):
    a, b = xp.ones((2, 3, 4)), xp.ones((2, 4))
    y, _, pullback = layers.Add(**F64).forward_with_pullback([a, b], False)
    assert y.shape == (2, 3, 4)
    grad_a, grad_b = pullback(xp.ones((2, 3, 4)))[0]
    np.testing.assert_array_equal(K.to_host(grad_b), np.full((2, 4), 3.0))
    np.testing.assert_array_equal(K.to_host(grad_a), np.ones((2, 3, 4)))


def test_multiply_gives_a_zero_input_its_gradient(xp):
    a = xp.asarray([[0.0, 2.0]])
    b = xp.asarray([[3.0, 0.0]])
    layer = layers.Multiply(**F64)
    layer.forward([a, b])
    grad_a, grad_b = layer.backward(xp.ones((1, 2)))
    np.testing.assert_array_equal(K.to_host(grad_a), [[3.0, 0.0]])
    np.testing.assert_array_equal(K.to_host(grad_b), [[0.0, 2.0]])


def test_dot_normalize_gives_the_cosine_similarity(xp):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    y = layers.Dot(axes=1, normalize=True, **F64)([xp.asarray(a), xp.asarray(b)])
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(K.to_host(y), cosine[:, None], rtol=1e-12)


def test_dot_normalize_of_a_zero_sample_is_zero_not_nan(xp):
    y = layers.Dot(axes=1, normalize=True)([xp.zeros((2, 3)), xp.ones((2, 3))])
    np.testing.assert_array_equal(K.to_host(y), np.zeros((2, 1)))


def test_functional_forms_build_their_layer_with_its_arguments(xp):
    a, b = xp.ones((2, 3)), xp.full((2, 3), 2.0)
    expected = {
        layers.add: 3.0,
        layers.subtract: -1.0,
        layers.multiply: 2.0,
        layers.average: 1.5,
        layers.maximum: 2.0,
        layers.minimum: 1.0,
    }
    for function, value in expected.items():
        np.testing.assert_array_equal(K.to_host(function([a, b])), np.full((2, 3), value))
    assert layers.concatenate([a, b], axis=0).shape == (4, 3)
    np.testing.assert_array_equal(K.to_host(layers.dot([a, b], axes=1)), np.full((2, 1), 6.0))
    assert layers.add([a, b], name="joined") is not None


# -- shapes and errors ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MERGE_CASES))
def test_compute_output_shape_matches_the_output(xp, name):
    _, _, shapes = MERGE_CASES[name]
    inputs = [xp.zeros(shape) for shape in shapes]
    layer = _make(name)
    assert layer.compute_output_shape(shapes) == tuple(layer(inputs).shape)
    unknown_batch = [(None, *shape[1:]) for shape in shapes]
    assert layer.compute_output_shape(unknown_batch) == (None, *layer(inputs).shape[1:])


@pytest.mark.parametrize(
    ("layer", "shapes", "message"),
    [
        (layers.Add(), [(None, 3), (None, 4)], r"incompatible shapes.*input_shape=\[\(None, 3\)"),
        (layers.Add(), (None, 3), r"list of inputs. Received: input_shape=\(None, 3\)"),
        (layers.Multiply(), [(2, 3), (4, 3)], r"different batch sizes.*input_shape=\[\(2, 3\)"),
        (layers.Subtract(), [(None, 3)] * 3, r"exactly 2 inputs.*input_shape="),
        (layers.Average(), [], r"at least 1 input.*input_shape=\[\]"),
        (layers.Concatenate(), [(None, 3, 4), (None, 2, 4)], r"matching shapes except.*-1"),
        (layers.Concatenate(axis=3), [(None, 3, 4)] * 2, r"axis=3.*input_shape="),
        (layers.Dot(axes=1), [(None, 3), (None, 4)], r"differ in size \(3 != 4\).*input_shape="),
        (layers.Dot(axes=0), [(None, 3), (None, 3)], r"non-batch axis.*input_shape="),
        (layers.Dot(axes=1), [(None, 3)], r"exactly 2 inputs"),
    ],
)
def test_incompatible_input_shapes_are_refused_naming_them(layer, shapes, message):
    with pytest.raises(ValueError, match=message):
        layer.compute_output_shape(shapes)


def test_calling_a_merge_layer_on_one_array_is_refused(xp):
    with pytest.raises(ValueError, match=r"Add layer should be called on a list of inputs"):
        layers.Add()(xp.zeros((2, 3)))


def test_incompatible_arrays_are_refused_when_called(xp):
    layer = layers.Add()
    layer([xp.zeros((2, 3)), xp.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(2, 4\)"):
        layer([xp.zeros((2, 3)), xp.zeros((2, 4))])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.Dot(axes=(1, 2, 3)), r"axes must be an int or two ints.*\(1, 2, 3\)"),
        (lambda: layers.Dot(axes="1"), r"Received: axes='1'"),
        (lambda: layers.Dot(axes=(1, 1.5)), r"integers. Received: axes=\(1, 1.5\)"),
        (lambda: layers.Concatenate(axis=1.0), r"Received: axis=1.0"),
    ],
)
def test_bad_constructor_arguments_are_refused_naming_them(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


# -- masks ------------------------------------------------------------------------------------
def test_elementwise_merge_mask_is_the_or_of_the_input_masks(xp):
    inputs = [xp.zeros((2, 3, 4)), xp.zeros((2, 3, 4))]
    first = xp.asarray([[True, False, False], [True, True, False]])
    second = xp.asarray([[False, False, True], [True, False, False]])
    mask = layers.Add().compute_mask(inputs, [first, second])
    np.testing.assert_array_equal(K.to_host(mask), [[True, False, True], [True, True, False]])
    assert layers.Add().compute_mask(inputs, [first, None]) is None
    assert layers.Add().compute_mask(inputs, None) is None
    assert layers.Dot(axes=2).compute_mask(inputs, [first, second]) is None


def test_concatenate_mask_follows_keras(xp):
    inputs = [xp.zeros((2, 3, 4)), xp.zeros((2, 3, 5))]
    first = xp.asarray([[True, False, False], [True, True, False]])
    joined = layers.Concatenate(axis=1).compute_mask(inputs[:1] * 2, [first, None])
    np.testing.assert_array_equal(
        K.to_host(joined),
        [[True, False, False, True, True, True], [True, True, False, True, True, True]],
    )
    last_axis = layers.Concatenate().compute_mask(inputs, [first, None])
    np.testing.assert_array_equal(K.to_host(last_axis), np.ones((2, 3), bool))


def test_masked_entries_count_as_one_in_a_product_and_all_masked_entries_are_zero(xp):
    a, b = xp.full((1, 3, 2), 2.0), xp.full((1, 3, 2), 3.0)
    masks = [xp.asarray([[True, False, False]]), xp.asarray([[True, True, False]])]
    y, _ = layers.Multiply().forward_tracked([a, b], False, masks)
    np.testing.assert_array_equal(K.to_host(y)[0, :, 0], [6.0, 3.0, 0.0])
    y, _ = layers.Multiply().forward_tracked([a, b], False, [masks[0], None])
    np.testing.assert_array_equal(K.to_host(y)[0, :, 0], [6.0, 3.0, 3.0])


@pytest.mark.parametrize("make", [layers.Maximum, layers.Minimum, layers.Multiply])
def test_masked_backward_with_an_unmasked_input_matches_finite_differences(backend_name, make):
    rng = np.random.default_rng(2)
    inputs = [rng.normal(size=(2, 4, 3)) for _ in range(3)]
    layer = make(**F64)
    mask = np.array([[True, False, True, True], [False, False, True, True]])
    layer.input_mask = [K.to_device(mask), None, K.to_device(~mask)]
    check_gradients(layer, inputs)


def test_a_mask_that_does_not_match_its_input_is_refused(xp):
    inputs = [xp.zeros((2, 3, 4)), xp.zeros((2, 3, 4))]
    with pytest.raises(ValueError, match=r"mask with shape \(2, 4\) for an input of shape"):
        layers.Maximum().forward_tracked(inputs, False, [xp.ones((2, 4), bool), None])


def test_a_mask_list_of_the_wrong_length_is_refused(xp):
    inputs = [xp.zeros((2, 3)), xp.zeros((2, 3))]
    with pytest.raises(ValueError, match=r"same length. Received: 2 inputs and mask of length 1"):
        layers.Add().compute_mask(inputs, [xp.ones((2,), bool)])


# -- configs -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MERGE_CASES))
def test_config_round_trips_through_the_registry(xp, name):
    layer = _make(name, name=f"merge_{name}")
    layer([xp.zeros(shape) for shape in MERGE_CASES[name][2]])
    entry = _serialization.serialize(layer)
    assert entry["class_name"] == MERGE_CASES[name][0]
    rebuilt = _serialization.deserialize(entry)
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()
    assert rebuilt.built


def test_configs_have_keras_keys():
    assert layers.Dot(axes=(1, 2), normalize=True).get_config()["axes"] == [1, 2]
    assert layers.Dot(axes=1).get_config()["normalize"] is False
    assert layers.Concatenate(axis=1).get_config()["axis"] == 1
    assert set(layers.Add().get_config()) == {"name", "trainable", "dtype"}


# -- on the tape -----------------------------------------------------------------------------
def test_a_merge_layer_on_the_tape_is_one_node_giving_each_input_its_gradient(xp):
    a = keras.Variable(np.arange(6.0).reshape(2, 3), dtype="float64")
    b = keras.Variable(np.ones((2, 1)), dtype="float64")
    add = layers.Add(**F64)
    with autodiff.GradientTape() as tape:
        y = add([a * 1.0, b * 2.0])
        total = ops.sum(ops.square(y))
    grad_a, grad_b = tape.gradient(total, [a, b])
    y_host = np.arange(6.0).reshape(2, 3) + 2.0
    np.testing.assert_allclose(K.to_host(grad_a), 2 * y_host)
    np.testing.assert_allclose(K.to_host(grad_b), 4 * y_host.sum(1, keepdims=True))


def test_a_merge_layer_called_twice_on_the_tape_sums_both_calls(xp):
    a = keras.Variable(np.full((2, 3), 2.0), dtype="float64")
    multiply = layers.Multiply(**F64)
    with autodiff.GradientTape() as tape:
        first = multiply([a * 1.0, a * 3.0])  # 3 a^2
        second = multiply([first, a * 1.0])  # 3 a^3
        total = ops.sum(second)
    np.testing.assert_allclose(K.to_host(tape.gradient(total, a)), np.full((2, 3), 36.0))


def test_inputs_that_need_no_gradient_get_none(xp):
    a = keras.Variable(np.ones((2, 3)), dtype="float64")
    with autodiff.GradientTape() as tape:
        y = layers.Concatenate(**F64)([a * 1.0, xp.ones((2, 2))])
        total = ops.sum(y * y)
    np.testing.assert_allclose(K.to_host(tape.gradient(total, a)), np.full((2, 3), 2.0))


# -- in a model that trains -----------------------------------------------------------------
class _Branches(keras.Model):
    """Two Dense branches joined by each merge layer, written once with the merge layers
    and once with ops, so both must train to the same weights."""

    def __init__(self, use_layers: bool, **kwargs):
        super().__init__(**kwargs)
        self.use_layers = use_layers
        self.left = layers.Dense(4, activation="tanh")
        self.right = layers.Dense(4, activation="tanh")
        self.head = layers.Dense(1)
        self.add = layers.Add()
        self.concatenate = layers.Concatenate()
        self.dot = layers.Dot(axes=1, normalize=True)
        self.maximum = layers.Maximum()

    def call(self, inputs):
        a, b = self.left(inputs), self.right(inputs)
        if self.use_layers:
            joined = self.concatenate([self.add([a, b]), self.maximum([a, b * 0.5])])
            return self.head(joined) + self.dot([a, b])
        joined = ops.concatenate([a + b, ops.maximum(a, b * 0.5)], axis=-1)
        return self.head(joined) + ops.sum(_unit(a) * _unit(b), axis=1, keepdims=True)


def _unit(x):
    # ops.normalize warns on the all-zero probe that infers the output shape
    return x / ops.sqrt(ops.maximum(ops.sum(x * x, axis=1, keepdims=True), 1e-14))


def test_a_subclassed_model_of_merge_layers_trains_like_the_same_model_in_ops(xp):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    models = [_Branches(use_layers=flag) for flag in (True, False)]
    for model in models:
        model(x[:2])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    models[1].set_weights(models[0].get_weights())
    histories = [
        m.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
        for m in models
    ]
    assert histories[0][-1] < histories[0][0]
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-5)
    for got, expected in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_a_subclassed_model_of_every_merge_layer_trains_like_keras(xp):
    x, y = FIXTURE["training/x"], FIXTURE["training/y"]
    model = branches_model_class(keras)()
    model(x[:2])
    model.set_weights([FIXTURE[f"training/weight{i}"] for i in range(len(model.weights))])
    model.compile(optimizer=keras.optimizers.SGD(TRAINING["learning_rate"]), loss="mse")
    history = model.fit(
        x, y, batch_size=TRAINING["batch_size"], epochs=TRAINING["epochs"], shuffle=False, verbose=0
    )
    np.testing.assert_allclose(history.history["loss"], FIXTURE["training/losses"], rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], FIXTURE["training/final0"], rtol=1e-4)


class _Pair(layers.Layer):
    """A call() layer of two inputs, as a user writes one."""

    def call(self, inputs):
        first, second = inputs
        return ops.concatenate([first * second, first], axis=-1)


def test_a_call_layer_of_a_list_of_inputs_builds_and_infers_its_output_shape(xp):
    layer = _Pair()
    y = layer([xp.ones((2, 3)), xp.full((2, 3), 2.0)])
    np.testing.assert_array_equal(K.to_host(y)[0], [2.0, 2.0, 2.0, 1.0, 1.0, 1.0])
    assert layer.input_shape == ((2, 3), (2, 3))
    assert layer.compute_output_shape([(None, 3), (None, 3)]) == (None, 6)
