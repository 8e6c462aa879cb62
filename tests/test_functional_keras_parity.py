"""Functional models train as in real Keras 3 (JAX): per-epoch losses at rtol 1e-5.

Fixtures: tests/fixtures/make_functional_fixtures.py runs tests/fixtures/functional_cases.py
under Keras 3.15; the same module builds the same graph here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
from tests.fixtures import functional_cases

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "functional_cases.npz")


@pytest.mark.parametrize("case", functional_cases.CASES)
def test_functional_training_matches_keras_3(xp, case):
    result = functional_cases.run(keras, case, functional_cases.make_data())
    expected_shapes = [tuple(FIXTURE[f"{case}/shapes/{i}"]) for i in range(len(result["shapes"]))]
    assert result["shapes"] == expected_shapes  # the same weights in Keras's order
    np.testing.assert_allclose(result["loss"], FIXTURE[f"{case}/loss"], rtol=1e-5, atol=1e-6)
    for i, weight in enumerate(result["weights"]):
        np.testing.assert_allclose(weight, FIXTURE[f"{case}/weights/{i}"], rtol=1e-4, atol=1e-5)
    for key, values in result["history"].items():  # per-output losses and metrics too
        np.testing.assert_allclose(values, FIXTURE[f"{case}/history/{key}"], rtol=1e-5, atol=1e-6)
    for i, prediction in enumerate(result["predictions"]):
        expected = FIXTURE[f"{case}/predictions/{i}"]
        np.testing.assert_allclose(prediction, expected, rtol=1e-4, atol=1e-5)
