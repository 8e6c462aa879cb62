"""Trained functional models (tests/fixtures/functional_cases.py) saved and loaded both ways.

- gpukeras trains a case as Keras did, saves ``.keras`` and ``.weights.h5``; its own loaders
  give back the same outputs, and so does Keras 3 where a reference Keras is available
  (GPUKERAS_KERAS_PYTHON names its interpreter, see tests/keras_reference.py).
- The model Keras trained and saved (tests/fixtures/functional_trained/, written by
  tests/fixtures/make_functional_fixtures.py) loads in gpukeras and predicts what Keras did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras.models import load_model
from tests.fixtures import functional_cases
from tests.keras_reference import run_keras_predictions

FIXTURES = Path(__file__).parent / "fixtures"
RECORDED = np.load(FIXTURES / "functional_cases.npz")


def outputs_of(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    result = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    return [K.to_host(y) for y in (result if isinstance(result, list) else [result])]


def assert_same(got: list[np.ndarray], expected: list[np.ndarray], atol: float = 1e-6) -> None:
    assert len(got) == len(expected)
    for value, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(value, reference, rtol=0, atol=atol)


def train_and_save(case: str, folder: Path) -> dict:
    result = functional_cases.run(keras, case, functional_cases.make_data())
    result["model"].save(folder / f"{case}.keras")
    result["model"].save_weights(folder / f"{case}.weights.h5")
    return result


@pytest.mark.parametrize("case", functional_cases.SAVED_CASES)
def test_a_trained_model_saved_by_gpukeras_loads_back_with_the_same_outputs(xp, tmp_path, case):
    result = train_and_save(case, tmp_path)
    loaded = load_model(tmp_path / f"{case}.keras")
    assert_same(outputs_of(loaded, result["inputs"]), result["predictions"])
    rebuilt, _ = functional_cases.build(keras, case)
    rebuilt.load_weights(tmp_path / f"{case}.weights.h5")
    assert_same(outputs_of(rebuilt, result["inputs"]), result["predictions"])


def test_keras_loads_the_trained_models_gpukeras_saved_and_predicts_the_same(tmp_path):
    jobs, expected = [], []
    for case in functional_cases.SAVED_CASES:
        result = train_and_save(case, tmp_path)
        np.savez(tmp_path / f"{case}.x.npz", **{f"x{i}": x for i, x in enumerate(result["inputs"])})
        for weights in (None, str(tmp_path / f"{case}.weights.h5")):
            jobs.append(
                {
                    "model": str(tmp_path / f"{case}.keras"),
                    "weights": weights,
                    "inputs": str(tmp_path / f"{case}.x.npz"),
                    "out": str(tmp_path / f"{case}.{len(jobs)}.out.npz"),
                }
            )
            expected.append(result["predictions"])
    for got, reference in zip(run_keras_predictions(jobs, tmp_path), expected, strict=True):
        assert_same(got, reference)


@pytest.mark.parametrize("case", functional_cases.SAVED_CASES)
def test_the_trained_model_keras_saved_loads_and_predicts_what_keras_did(xp, case):
    inputs = functional_cases.pick(
        functional_cases.make_data(),
        functional_cases.build(keras, case)[1].get("x", "x"),
        slice(0, 8),
    )
    inputs = inputs if isinstance(inputs, list) else [inputs]
    count = sum(key.startswith(f"{case}/predictions/") for key in RECORDED.files)
    expected = [RECORDED[f"{case}/predictions/{i}"] for i in range(count)]
    trained = FIXTURES / "functional_trained"
    loaded = load_model(trained / f"{case}.keras")
    assert_same(outputs_of(loaded, inputs), expected)
    rebuilt, _ = functional_cases.build(keras, case)
    with pytest.raises(AssertionError):
        assert_same(outputs_of(rebuilt, inputs), expected)  # fresh weights differ
    rebuilt.load_weights(trained / f"{case}.weights.h5")
    assert_same(outputs_of(rebuilt, inputs), expected)
