"""layers.RNN(cell): built-in cells, stacked cells and custom cells against Keras 3 on JAX
(tests/make_rnn_cell_fixtures.py), the fused layers, finite differences and training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import autodiff, layers, ops
from gpukeras import backend as K
from gpukeras.layers import _serialization
from tests.fixtures.rnn_cell_cases import (
    CASES,
    TRAINING,
    flat,
    minimal_cell_class,
    training_model,
)
from tests.gradcheck import numerical_gradient

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "rnn_cells.npz")
RNG = np.random.default_rng(4)
# Cases of one built-in cell: without unroll they run as the fused layer.
FUSED_CASES = {
    "simple",
    "simple_relu_sequences",
    "lstm_sequences_backwards",
    "lstm_state_masked",
    "gru",
    "gru_reset_before",
    "zero_output_for_mask",
}


def _case(name: str, unroll: bool = False):
    make, masked = CASES[name]
    layer = make(layers, ops)
    layer.unroll = unroll  # True: the cell's ops step by step, never the fused layer
    x = FIXTURE[f"{name}/x"]
    layer(x)
    count = len(layer.weights)
    layer.set_weights([FIXTURE[f"{name}/weight{i}"] for i in range(count)])
    mask = FIXTURE[f"{name}/mask"] if masked else None
    return layer, x, mask


@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_match_keras_for_the_same_weights(xp, name, unroll):
    layer, x, mask = _case(name, unroll)
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
    layer, x, _ = _case(name)
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


# -- stateful ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RNN(layers.LSTMCell(3), return_sequences=True, stateful=True),
        lambda: layers.RNN(layers.GRUCell(3), return_sequences=True, stateful=True, unroll=True),
        lambda: layers.RNN(
            [layers.GRUCell(3), layers.SimpleRNNCell(2)], return_sequences=True, stateful=True
        ),
        lambda: layers.SimpleRNN(3, return_sequences=True, stateful=True),
        lambda: layers.LSTM(3, return_sequences=True, stateful=True),
        lambda: layers.GRU(3, return_sequences=True, stateful=True),
    ],
)
def test_a_stateful_layer_carries_its_states_until_reset(xp, make):
    x = xp.asarray(RNG.normal(size=(2, 6, 4)).astype("float32"))
    stateful = make()
    stateful(x[:, :3])
    config = {**stateful.get_config(), "stateful": False}
    config.pop("name")
    whole = type(stateful).from_config(config)
    whole(x)
    whole.set_weights(stateful.get_weights())
    expected = K.to_host(whole(x))
    stateful.reset_states()
    halves = [K.to_host(stateful(x[:, :3])), K.to_host(stateful(x[:, 3:]))]
    np.testing.assert_allclose(np.concatenate(halves, axis=1), expected, rtol=1e-5, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(K.to_host(stateful(x[:, :3])), expected[:, :3], rtol=1e-5, atol=1e-6)
    assert stateful.get_config()["stateful"] is True


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RNN(layers.GRUCell(3), stateful=True),
        lambda: layers.RNN(layers.GRUCell(3), stateful=True, unroll=True),
        lambda: layers.LSTM(3, stateful=True),
    ],
)
def test_a_stateful_layer_refuses_another_batch_size_and_an_unknown_one(xp, make):
    layer = make()
    layer(xp.zeros((4, 3, 2), dtype="float32"))
    with pytest.raises(ValueError, match=r"batch size it was built for, 4.*Received: a batch of 3"):
        layer(xp.zeros((3, 3, 2), dtype="float32"))
    with pytest.raises(ValueError, match=r"needs a fixed batch size.*input_shape=\(None, 3, 2\)"):
        make().build((None, 3, 2))


def test_a_stateful_model_trains_carrying_states_across_batches(xp):
    x = RNG.normal(size=(16, 4, 2)).astype("float32")
    y = RNG.normal(size=(16, 1)).astype("float32")
    model = keras.Sequential(
        [keras.Input((4, 2), batch_size=4), layers.LSTM(3, stateful=True), layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    carried = model.layers[0]._carried.values
    assert carried is not None and carried[0].shape == (4, 3)
    model.layers[0].reset_states()
    assert model.layers[0]._carried.values is None


@pytest.mark.parametrize("unroll", [False, True])
def test_reset_states_can_set_the_states(xp, unroll):
    layer = layers.RNN(layers.LSTMCell(2), stateful=True, unroll=unroll)
    x = xp.asarray(RNG.normal(size=(3, 4, 2)).astype("float32"))
    layer(x)
    h, c = xp.ones((3, 2), dtype="float32"), xp.full((3, 2), 0.5, dtype="float32")
    layer.reset_states([h, c])
    plain = layers.RNN(layers.LSTMCell(2), unroll=True)
    plain(x)
    plain.set_weights(layer.get_weights())
    expected = K.to_host(plain(x, initial_state=[h, c]))
    np.testing.assert_allclose(K.to_host(layer(x)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("unroll", [False, True])
def test_an_initial_state_gets_its_gradient_on_the_tape(xp, unroll):
    layer = layers.RNN(layers.GRUCell(2, dtype="float64"), unroll=unroll, dtype="float64")
    x = xp.asarray(RNG.normal(size=(2, 3, 2)))
    state = keras.Variable(RNG.normal(size=(2, 2)), dtype="float64")
    layer(x)

    def total(value):
        return ops.sum(ops.square(layer(x, initial_state=[value])))

    with autodiff.GradientTape() as tape:
        loss = total(state)
    analytic = K.to_host(tape.gradient(loss, state))
    numeric = numerical_gradient(lambda: float(K.to_host(total(state.value))), state.value)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_reset_states_of_a_layer_that_is_not_stateful_is_refused():
    with pytest.raises(AttributeError, match=r"not stateful. Received: stateful=False"):
        layers.RNN(layers.LSTMCell(2)).reset_states()


# -- configs and errors ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lstm_state_masked", "gru_reset_before", "stacked"])
def test_config_round_trips_with_the_cell(xp, name):
    layer, x, _ = _case(name)
    rebuilt = _serialization.deserialize(_serialization.serialize(layer))
    assert type(rebuilt.cell) is type(layer.cell)
    assert rebuilt.get_config()["cell"]["config"] == layer.get_config()["cell"]["config"]
    rebuilt.set_weights(layer.get_weights())
    for got, expected in zip(flat(rebuilt(xp.asarray(x))), flat(layer(xp.asarray(x)))):
        np.testing.assert_allclose(K.to_host(got), K.to_host(expected), rtol=1e-6)


def test_a_custom_cell_config_loads_only_through_custom_objects():
    cell_class = minimal_cell_class(layers, ops)

    class Cell(cell_class):
        def get_config(self):
            return {**super().get_config(), "units": self.units}

    entry = _serialization.serialize(layers.RNN(Cell(3)))
    with pytest.raises(ValueError, match=r"Unknown layer class 'Cell'"):
        _serialization.deserialize(entry)
    rebuilt = _serialization.deserialize(entry, custom_objects={"Cell": Cell})
    assert isinstance(rebuilt.cell, Cell) and rebuilt.cell.units == 3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.RNN(layers.Dense(3)), r"`state_size`.*Received: cell="),
        (lambda: layers.StackedRNNCells([]), r"list of cells. Received: cells=\[\]"),
        (lambda: layers.LSTMCell(0), r"Received: units=0"),
        (lambda: layers.GRUCell(3, dropout=1.5), r"Received: dropout=1.5"),
        (lambda: layers.Bidirectional(layers.LSTM(2, stateful=True)), r"stateful=True"),
        (
            lambda: layers.Bidirectional(layers.RNN(layers.LSTMCell(2), name="cells")),
            r"RNN\(cell\) is not supported yet.*Received: layer='cells' \(RNN\)",
        ),
    ],
)
def test_bad_arguments_are_refused_naming_them(make, message):
    with pytest.raises((ValueError, NotImplementedError), match=message):
        make()


def test_initial_state_of_the_wrong_length_is_refused(xp):
    layer = layers.RNN(layers.LSTMCell(2))
    with pytest.raises(ValueError, match=r"2 state\(s\). Received: initial_state with 1"):
        layer(xp.zeros((1, 3, 2)), initial_state=[xp.zeros((1, 2))])


# -- files --------------------------------------------------------------------------------
def test_a_keras_saved_model_of_rnn_cells_loads_and_predicts_the_same(xp):
    model = keras.models.load_model(Path(__file__).parent / "fixtures" / "keras_rnn_cells.keras")
    assert type(model.layers[0].cell).__name__ == "StackedRNNCells"
    predicted = model.predict(FIXTURE["model/x"], verbose=0)
    np.testing.assert_allclose(predicted, FIXTURE["model/y"], rtol=1e-5, atol=1e-6)


def test_keras_weights_file_of_stacked_cells_loads_and_saves_in_keras_layout(xp, tmp_path):
    def make():
        return keras.Sequential(
            [
                keras.Input((5, 4)),
                layers.RNN([layers.LSTMCell(4), layers.GRUCell(3)], return_sequences=True),
                layers.RNN(layers.SimpleRNNCell(3), go_backwards=True),
                layers.Dense(2),
            ]
        )

    model = make()
    model.load_weights(Path(__file__).parent / "fixtures" / "keras_rnn_cells.weights.h5")
    predicted = model.predict(FIXTURE["model/x"], verbose=0)
    np.testing.assert_allclose(predicted, FIXTURE["model/y"], rtol=1e-5, atol=1e-6)
    model.save_weights(tmp_path / "again.weights.h5")
    import h5py

    with h5py.File(tmp_path / "again.weights.h5") as file:
        assert file["layers/rnn/cell/cells/lstm_cell/vars/0"].shape == (4, 16)
        assert file["layers/rnn/cell/cells/gru_cell/vars/2"].shape == (2, 9)
        assert file["layers/rnn_1/cell/vars/1"].shape == (3, 3)
    reloaded = make()
    reloaded.load_weights(tmp_path / "again.weights.h5")
    np.testing.assert_allclose(reloaded.predict(FIXTURE["model/x"], verbose=0), predicted)


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)], stateful=True),
        lambda: layers.GRU(3, stateful=True),
    ],
)
def test_a_stateful_rnn_keeps_one_host_read_per_epoch(backend_name, make):
    x = RNG.normal(size=(16, 4, 2)).astype("float32")
    y = RNG.normal(size=(16, 1)).astype("float32")
    model = keras.Sequential([keras.Input((4, 2), batch_size=4), make(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # builds everything
    before = K.host_syncs()
    model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    assert K.host_syncs() - before == 3


def _with_cell(cell: object):
    def mutate(config: dict) -> None:
        config["config"]["layers"][1]["config"]["cell"] = cell

    return mutate


def _nested_stacks(depth: int) -> dict:
    cell: dict = {"class_name": "LSTMCell", "config": {"units": 3}}
    for _ in range(depth):
        cell = {"class_name": "StackedRNNCells", "config": {"cells": [cell]}}
    return cell


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_with_cell({"class_name": "os.system", "config": {}}), r"Unknown layer class"),
        (_with_cell("nope"), r"must be a dict with 'class_name'"),
        (_with_cell({"class_name": "LSTMCell", "config": {"units": -3}}), r"units=-3"),
        (_with_cell({"class_name": "StackedRNNCells", "config": {"cells": "x"}}), r"a dict"),
        (_with_cell(_nested_stacks(150)), r"nested too deeply"),
    ],
)
def test_hostile_cell_configs_are_refused(tmp_path, mutate, message):
    import json
    import zipfile

    source = zipfile.ZipFile(Path(__file__).parent / "fixtures" / "keras_rnn_cells.keras")
    config = json.loads(source.read("config.json"))
    mutate(config)
    path = tmp_path / "hostile.keras"
    with zipfile.ZipFile(path, "w") as out:
        for item in source.namelist():
            data = json.dumps(config) if item == "config.json" else source.read(item)
            out.writestr(item, data)
    with pytest.raises(keras.saving.FileFormatError, match=message):
        keras.models.load_model(path)


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
