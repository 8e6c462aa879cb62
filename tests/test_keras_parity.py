"""Training matches real Keras 3 step for step.

Fixtures: tests/fixtures/make_training_fixtures.py and make_training_variant_fixtures.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
from tests.fixtures import training_variants

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "training.npz")
OPTIMIZERS = [str(name) for name in FIXTURE["optimizers"]]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_fit_matches_keras_3(xp, optimizer):
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    model.set_weights([FIXTURE[f"initial/{i}"] for i in range(4)])
    history = model.fit(
        FIXTURE["x"], FIXTURE["y"], batch_size=16, epochs=3, shuffle=False, verbose=0
    )
    np.testing.assert_allclose(
        history.history["loss"], FIXTURE[f"{optimizer}/loss"], rtol=1e-6, atol=1e-6
    )
    np.testing.assert_array_equal(
        history.history["accuracy"], FIXTURE[f"{optimizer}/accuracy"].astype(np.float32)
    )
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_allclose(weight, FIXTURE[f"{optimizer}/final/{i}"], rtol=1e-5, atol=1e-6)


VARIANTS = np.load(Path(__file__).parent / "fixtures" / "training_variants.npz")


@pytest.mark.parametrize("case", training_variants.CASES)
def test_training_variants_match_keras_3(xp, case):
    """Regularizers, sample/class weights, validation, other losses and optimizer options."""
    result = training_variants.run(keras, case, training_variants.make_data())
    expected_keys = sorted(
        {k.split("/")[2] for k in VARIANTS.files if k.startswith(case + "/history/")}
    )
    assert sorted(result["history"]) == expected_keys
    for key in expected_keys:
        np.testing.assert_allclose(
            result["history"][key],
            VARIANTS[f"{case}/history/{key}"],
            rtol=2e-5,
            atol=1e-6,
            err_msg=key,
        )
    for i, weight in enumerate(result["weights"]):
        np.testing.assert_allclose(weight, VARIANTS[f"{case}/weights/{i}"], rtol=1e-4, atol=1e-5)
