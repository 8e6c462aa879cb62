"""layers.RNN(cell): built-in cells, stacked cells and custom cells against Keras 3 on JAX
(tests/make_rnn_cell_fixtures.py), the fused layers, finite differences, dropout and
training. Stateful layers: tests/test_rnn_stateful.py; configs and files:
tests/test_rnn_cell_configs.py."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import autodiff, layers, ops
from gpukeras import backend as K
from tests._rnn_cell_helpers import FIXTURE, FUSED_CASES, keras_case
from tests.fixtures.rnn_cell_cases import (
    CASES,
    TRAINING,
    flat,
    minimal_cell_class,
    training_model,
)
from tests.gradcheck import numerical_gradient

RNG = np.random.default_rng(4)


@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_match_keras_for_the_same_weights(xp, name, unroll):
    layer, x, mask = keras_case(name, unroll)
    assert (layer._twin is not None) == (not unroll and name in FUSED_CASES)
    outputs = flat(layer(xp.asarray(x), mask=None if mask is None else xp.asarray(mask)))
    expected = [key for key in FIXTURE.files if key.startswith(f"{name}/output")]
    assert len(outputs) == len(expected)
    for i, output in enumerate(outputs):
        np.testing.assert_allclose(
            K.to_host(output), FIXTURE[f"{name}/output{i}"], rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_compute_output_shape_matches_the_output_shapes(xp, name):
    layer, x, _ = keras_case(name)
    shapes = layer.compute_output_shape((None, *x.shape[1:]))
    outputs = flat(layer(xp.asarray(x)))
    declared = [shapes] if isinstance(shapes, tuple) else _flat_shapes(shapes)
    assert [(None, *o.shape[1:]) for o in outputs] == declared


def _flat_shapes(shapes):
    found = []
    for shape in shapes:
        found += _flat_shapes(shape) if isinstance(shape, list) else [shape]
    return found


@pytest.mark.parametrize(
    ("cell", "fused"),
    [
        (lambda: layers.SimpleRNNCell(3, dtype="float64"), lambda: layers.SimpleRNN(3)),
        (lambda: layers.LSTMCell(3, dtype="float64"), lambda: layers.LSTM(3)),
        (lambda: layers.GRUCell(3, dtype="float64"), lambda: layers.GRU(3)),
        (
            lambda: layers.GRUCell(3, reset_after=False, dtype="float64"),
            lambda: layers.GRU(3, reset_after=False),
        ),
    ],
)
def test_a_cell_has_the_fused_layers_weights_outputs_and_gradients(xp, cell, fused):
    x = xp.asarray(RNG.normal(size=(2, 4, 3)))
    layer = layers.RNN(cell(), return_sequences=True, unroll=True, dtype="float64")
    reference = fused()
    reference.return_sequences = True
    reference.dtype = "float64"
    layer(x)
    reference(x.astype("float32"))
    assert [w.name for w in layer.weights] == [w.name for w in reference.weights]
    assert [w.shape for w in layer.weights] == [w.shape for w in reference.weights]
    # The same initial values from the same seed: the cell builds as the fused layer does.
    reference = type(reference).from_config({**reference.get_config(), "dtype": "float64"})
    reference(x)
    reference.set_weights(layer.get_weights())
    grad = xp.asarray(RNG.normal(size=(2, 4, 3)))
    with autodiff.GradientTape() as tape:
        total = ops.sum(layer(x) * grad)
    tape_grads = tape.gradient(total, layer.trainable_weights)
    y, _, pullback = reference.forward_with_pullback(x, False)
    _, fused_grads = pullback(grad)
    np.testing.assert_allclose(K.to_host(layer(x)), K.to_host(y), rtol=1e-10)
    for got, expected in zip(tape_grads, fused_grads):
        np.testing.assert_allclose(K.to_host(got), K.to_host(expected), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "cell",
    [
        lambda: layers.SimpleRNNCell(3, dtype="float64"),
        lambda: layers.LSTMCell(3, dtype="float64"),
        lambda: layers.GRUCell(3, reset_after=False, dtype="float64"),
    ],
)
@pytest.mark.parametrize("options", [{}, {"go_backwards": True, "return_state": True}])
def test_the_fused_path_of_a_built_in_cell_matches_its_step_by_step_ops(xp, cell, options):
    x = keras.Variable(RNG.normal(size=(2, 5, 3)), dtype="float64")
    mask = xp.asarray(np.array([[True] * 5, [True, True, True, False, False]]))
    fused = layers.RNN(cell(), return_sequences=True, dtype="float64", **options)
    stepped = layers.RNN(cell(), return_sequences=True, unroll=True, dtype="float64", **options)
    fused(x.value)
    stepped(x.value)
    stepped.set_weights(fused.get_weights())
    assert fused._twin is not None and stepped._twin is None
    results = []
    for layer in (fused, stepped):
        with autodiff.GradientTape() as tape:
            outputs = flat(layer(x, mask=mask))
            total = sum(ops.sum(ops.square(o)) for o in outputs)
        grads = tape.gradient(total, [x, *layer.trainable_weights])
        results.append([K.to_host(a) for a in [*map(autodiff.unwrap, outputs), *grads]])
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_gradient_through_time_of_a_custom_cell_matches_finite_differences(backend_name):
    cell = minimal_cell_class(layers, ops)(3, dtype="float64")
    layer = layers.RNN(cell, return_sequences=True, dtype="float64")
    x = K.to_device(RNG.normal(size=(2, 4, 3)))
    mask = K.to_device(np.array([[True, True, False, False], [True] * 4]))
    r = K.to_device(RNG.normal(size=(2, 4, 3)))
    layer(x)
    watched = [x, *[w.value for w in layer.trainable_weights]]

    def objective() -> float:
        return float(K.to_host(ops.sum(layer(x, mask=mask) * r)))

    with autodiff.GradientTape() as tape:
        tape.watch(x)
        total = ops.sum(layer(x, mask=mask) * r)
    analytic = tape.gradient(total, [x, *layer.trainable_weights])
    for got, array in zip(analytic, watched):
        numeric = numerical_gradient(objective, array)
        np.testing.assert_allclose(K.to_host(got), numeric, rtol=1e-6, atol=1e-8)


def test_a_model_with_a_custom_cell_trains(xp):
    x = RNG.normal(size=(32, 6, 2)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32") * 0.2
    cell = minimal_cell_class(layers, ops)(8)
    model = keras.Sequential([keras.Input((6, 2)), layers.RNN(cell), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=8, epochs=15, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]
    assert not np.allclose(before[0], model.get_weights()[0])  # the cell's kernel learnt


def test_stacked_and_custom_cells_train_like_keras(xp):
    x, y = FIXTURE["training/x"], FIXTURE["training/y"]
    model = training_model(keras, ops)
    model.set_weights([FIXTURE[f"training/weight{i}"] for i in range(len(model.weights))])
    model.compile(optimizer=keras.optimizers.SGD(TRAINING["learning_rate"]), loss="mse")
    history = model.fit(
        x, y, batch_size=TRAINING["batch_size"], epochs=TRAINING["epochs"], shuffle=False, verbose=0
    )
    np.testing.assert_allclose(history.history["loss"], FIXTURE["training/losses"], rtol=1e-5)


def test_stacked_cells_train_in_a_sequential_model(xp):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(32, 5, 3)).astype("float32")
    y = x.mean(axis=(1, 2))[:, None].astype("float32")
    stacked = layers.RNN(
        [layers.LSTMCell(4, dropout=0.1, recurrent_dropout=0.1, seed=2), layers.GRUCell(3)]
    )
    model = keras.Sequential([keras.Input((5, 3)), stacked, layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    assert len(model.trainable_weights) == 3 + 3 + 2
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=8, epochs=10, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * before


# -- dropout ------------------------------------------------------------------------------
def test_cell_dropout_draws_one_mask_per_sequence_while_training(xp):
    cell = layers.SimpleRNNCell(
        4,
        activation="linear",
        kernel_initializer="identity",
        recurrent_initializer="zeros",
        dropout=0.5,
        seed=3,
    )
    layer = layers.RNN(cell, return_sequences=True)
    x = xp.ones((8, 5, 4), dtype="float32")
    y = K.to_host(layer(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.0 in y and 2.0 in y
    np.testing.assert_array_equal(y, np.repeat(y[:, :1], 5, axis=1))  # the same every step
    assert not np.array_equal(K.to_host(layer(x, training=True)), y)  # a new sequence
    np.testing.assert_array_equal(K.to_host(layer(x, training=False)), np.ones((8, 5, 4)))


@pytest.mark.parametrize(
    "cell",
    [
        lambda **kw: layers.SimpleRNNCell(3, **kw),
        lambda **kw: layers.LSTMCell(3, **kw),
        lambda **kw: layers.GRUCell(3, **kw),
        lambda **kw: layers.GRUCell(3, reset_after=False, **kw),
    ],
)
def test_recurrent_dropout_changes_training_outputs_only(xp, cell):
    x = xp.asarray(RNG.normal(size=(4, 5, 2)).astype("float32"))
    dropping = layers.RNN(cell(dropout=0.3, recurrent_dropout=0.4, seed=1))
    plain = layers.RNN(cell())
    dropping(x)
    plain(x)
    plain.set_weights(dropping.get_weights())
    np.testing.assert_allclose(K.to_host(dropping(x)), K.to_host(plain(x)), rtol=1e-5)
    assert not np.allclose(K.to_host(dropping(x, training=True)), K.to_host(plain(x)))
    assert dropping.get_config()["cell"]["config"]["recurrent_dropout"] == 0.4


@pytest.mark.parametrize("unroll", [False, True])
def test_a_frozen_rnn_trains_only_the_rest_of_the_model(xp, unroll):
    x = RNG.normal(size=(8, 4, 2)).astype("float32")
    y = RNG.normal(size=(8, 1)).astype("float32")
    rnn = layers.RNN(layers.GRUCell(3), unroll=unroll)
    model = keras.Sequential([keras.Input((4, 2)), rnn, layers.Dense(1)])
    rnn.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    frozen = [w.copy() for w in rnn.get_weights()]
    dense = model.layers[-1].get_weights()[0].copy()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    for before, after in zip(frozen, rnn.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.array_equal(dense, model.layers[-1].get_weights()[0])


def test_an_rnn_called_twice_in_a_step_sums_both_calls_gradients_on_both_paths(xp):
    xa = xp.asarray(RNG.normal(size=(2, 4, 3)))
    xb = xp.asarray(RNG.normal(size=(2, 4, 3)))
    results: list = []
    weights: list = []
    for unroll in (False, True):
        layer = layers.RNN(layers.LSTMCell(3, dtype="float64"), unroll=unroll, dtype="float64")
        layer(xa)
        if weights:
            layer.set_weights(weights)
        weights = layer.get_weights()
        with autodiff.GradientTape() as tape:
            total = ops.sum(layer(xa) * layer(xb)) + ops.sum(ops.square(layer(xb)))
        results.append([K.to_host(g) for g in tape.gradient(total, layer.trainable_weights)])
    for fused, stepped in zip(*results):
        np.testing.assert_allclose(fused, stepped, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
def test_bidirectional_of_a_built_in_cell_rnn_is_bidirectional_of_its_fused_layer(xp, merge_mode):
    x = xp.asarray(RNG.normal(size=(2, 4, 3)).astype("float32"))
    cells = layers.Bidirectional(
        layers.RNN(layers.GRUCell(3), return_sequences=True), merge_mode=merge_mode
    )
    fused = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode=merge_mode)
    cells(x)
    fused(x)
    fused.set_weights(cells.get_weights())
    assert type(cells.forward_layer) is layers.GRU
    np.testing.assert_allclose(K.to_host(cells(x)), K.to_host(fused(x)), rtol=1e-6)
