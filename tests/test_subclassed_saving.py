"""save_weights/load_weights of subclassed models in Keras 3's ``.weights.h5`` layout.

tests/fixtures/keras_subclassed.weights.h5 was written by Keras 3.15 (see
tests/fixtures/make_autodiff_fixtures.py) for ``autodiff_cases.subclassed_layout_model``:
layers in attributes, a list, a dict, a nested model, a private attribute, own variables.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import gpukeras as keras
from gpukeras.saving import FileFormatError
from tests.fixtures.autodiff_cases import (
    attributes_only_model,
    make_data,
    subclassed_layout_model,
)

FIXTURES = Path(__file__).parent / "fixtures"
KERAS_FILE = FIXTURES / "keras_subclassed.weights.h5"
X, Y = make_data()


def _model(compiled: bool = True):
    model = subclassed_layout_model(keras)
    model(X[:1])
    if compiled:
        model.compile(optimizer="adam", loss="mse")
    return model


def _layout(path: Path) -> dict[str, tuple]:
    """Every group and dataset: name -> the dataset's shape, or ``('group',)``."""
    found: dict[str, tuple] = {}

    def visit(name, item):
        found[name] = tuple(item.shape) if isinstance(item, h5py.Dataset) else ("group",)

    with h5py.File(path, "r") as file:
        file.visititems(visit)
    return found


def test_keras_3_weights_of_a_subclassed_model_load_in_keras_order(xp):
    model = _model()
    model.load_weights(KERAS_FILE)
    expected = np.load(FIXTURES / "keras_subclassed.npz")
    weights = model.get_weights()
    assert len(weights) == len(expected.files)
    for i, weight in enumerate(weights):
        np.testing.assert_array_equal(weight, expected[str(i)])


def test_saved_weights_have_the_groups_and_shapes_keras_3_writes(tmp_path):
    model = _model()
    model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    assert _layout(path) == _layout(KERAS_FILE)


def test_weights_round_trip_with_the_optimizer_state(tmp_path):
    model = _model()
    model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    fresh = _model()
    fresh.load_weights(path)
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_a_file_from_another_structure_is_refused_before_any_weight_changes(tmp_path):
    class Other(keras.Model):
        def __init__(self):
            super().__init__()
            self.elsewhere = keras.layers.Dense(2)

        def call(self, inputs):
            return self.elsewhere(inputs)

    model = Other()
    model(X[:1])
    before = model.get_weights()
    with pytest.raises(FileFormatError, match="no group 'elsewhere'"):
        model.load_weights(KERAS_FILE)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_shape_mismatch_names_the_weight(tmp_path):
    class Wider(keras.Model):
        def __init__(self):
            super().__init__()
            self.first = keras.layers.Dense(7)

        def call(self, inputs):
            return self.first(inputs)

    model = Wider()
    model(X[:1])
    with pytest.raises(FileFormatError, match="Shape mismatch.*expects shape \\(4, 7\\)"):
        model.load_weights(KERAS_FILE)


def test_legacy_h5_and_whole_model_files_are_refused_for_subclassed_models(tmp_path):
    model = _model()
    with pytest.raises(ValueError, match="must end in '.weights.h5'"):
        model.save_weights(tmp_path / "model.h5")
    with pytest.raises(NotImplementedError, match="save_weights"):
        model.save(tmp_path / "model.keras")
    with pytest.raises(NotImplementedError, match="architecture of a subclassed model"):
        model.to_json()
    assert not list(tmp_path.iterdir())


def test_an_unbuilt_model_cannot_save_its_weights(tmp_path):
    with pytest.raises(ValueError, match="not yet been built"):
        subclassed_layout_model(keras).save_weights(tmp_path / "m.weights.h5")


def test_skip_mismatch_leaves_a_mismatched_weight_and_loads_the_rest(tmp_path):
    source = _model()
    path = tmp_path / "m.weights.h5"
    source.save_weights(path)
    with h5py.File(path, "r+") as file:  # the file's first kernel gets another shape
        del file["first/vars/0"]
        file["first/vars/0"] = np.zeros((4, 6), "float32")
    model = _model()
    kept = model.first.get_weights()[0]
    with pytest.warns(UserWarning, match="Skipping loading weight.*Received saved weight"):
        model.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(model.first.get_weights()[0], kept)
    np.testing.assert_array_equal(model.first.get_weights()[1], source.first.get_weights()[1])
    np.testing.assert_array_equal(model.inner.get_weights()[0], source.inner.get_weights()[0])
    with pytest.raises(FileFormatError, match="Shape mismatch"):
        model.load_weights(path)


def test_a_file_without_a_layers_group_loads_and_ours_matches_it(tmp_path):
    """Every layer of this model sits under an attribute that sorts before ``layers``."""
    model = attributes_only_model(keras)
    model(X[:1])
    model.load_weights(FIXTURES / "keras_blocks.weights.h5")
    expected = np.load(FIXTURES / "keras_blocks.npz")
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(weight, expected[str(i)])
    path = tmp_path / "blocks.weights.h5"
    model.save_weights(path)
    assert _layout(path) == _layout(FIXTURES / "keras_blocks.weights.h5")
    assert "layers" not in _layout(path)
