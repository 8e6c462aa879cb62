"""RNN(cell) configs, files made by Keras 3, hostile configs and argument errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops
from gpukeras.layers import _serialization
from tests._rnn_cell_helpers import FIXTURE, keras_case
from tests.fixtures.rnn_cell_cases import (
    flat,
    minimal_cell_class,
)

RNG = np.random.default_rng(4)


# -- configs and errors ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lstm_state_masked", "gru_reset_before", "stacked"])
def test_config_round_trips_with_the_cell(xp, name):
    layer, x, _ = keras_case(name)
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
            lambda: layers.Bidirectional(layers.RNN([layers.LSTMCell(2)], name="cells")),
            r"other RNN cells are not supported yet.*'cells' \(RNN of StackedRNNCells\)",
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


def test_a_keras_saved_bidirectional_of_cells_loads_and_predicts_the_same(xp):
    path = Path(__file__).parent / "fixtures" / "keras_bidirectional_cells.keras"
    model = keras.models.load_model(path)
    predicted = model.predict(FIXTURE["bidirectional/x"], verbose=0)
    np.testing.assert_allclose(predicted, FIXTURE["bidirectional/y"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("unroll", [False, True])
def test_cell_constraints_hold_after_training_and_round_trip(xp, unroll):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 4, 2)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    cell = layers.LSTMCell(3, kernel_constraint="non_neg", bias_constraint="non_neg")
    rnn = layers.RNN(cell, unroll=unroll)
    model = keras.Sequential([keras.Input((4, 2)), rnn, layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    kernel, _, bias = rnn.get_weights()
    assert kernel.min() >= 0.0 and bias.min() >= 0.0
    config = _serialization.serialize(rnn)["config"]["cell"]["config"]
    assert config["kernel_constraint"]["class_name"] == "NonNeg"
    rebuilt = _serialization.deserialize(_serialization.serialize(rnn))
    assert type(rebuilt.cell.kernel_constraint).__name__ == "NonNeg"
