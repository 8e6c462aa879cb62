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
    # cuBLAS sums the matrix products in another order and NVRTC contracts a*b+c into FMA,
    # so on CuPy float32 losses may move by a few ulps more than on NumPy.
    loss_tol = 1e-6 if keras.backend.backend() == "numpy" else 1e-5
    np.testing.assert_allclose(
        history.history["loss"], FIXTURE[f"{optimizer}/loss"], rtol=loss_tol, atol=loss_tol
    )
    np.testing.assert_array_equal(
        history.history["accuracy"], FIXTURE[f"{optimizer}/accuracy"].astype(np.float32)
    )
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_allclose(weight, FIXTURE[f"{optimizer}/final/{i}"], rtol=1e-5, atol=1e-6)


VARIANTS = np.load(Path(__file__).parent / "fixtures" / "training_variants.npz")


# Keras 3 on JAX masks the loss but not the training metrics (its training step does not
# hand the output mask to them, while evaluate does). We mask both, as tf.keras did; the
# masked metric itself is checked in test_masked_training_metrics_count_valid_steps_only.
UNMASKED_TRAINING_METRICS = {"masked_sequence_labels"}


@pytest.mark.parametrize("case", training_variants.CASES)
def test_training_variants_match_keras_3(xp, case):
    """Regularizers, sample/class weights, validation, other losses and optimizer options."""
    result = training_variants.run(keras, case, training_variants.make_data())
    expected_keys = sorted(
        {k.split("/")[2] for k in VARIANTS.files if k.startswith(case + "/history/")}
    )
    assert sorted(result["history"]) == expected_keys
    for key in expected_keys:
        if case in UNMASKED_TRAINING_METRICS and key != "loss":
            continue  # see UNMASKED_TRAINING_METRICS
        np.testing.assert_allclose(
            result["history"][key],
            VARIANTS[f"{case}/history/{key}"],
            rtol=2e-5,
            atol=1e-6,
            err_msg=key,
        )
    for i, weight in enumerate(result["weights"]):
        np.testing.assert_allclose(weight, VARIANTS[f"{case}/weights/{i}"], rtol=1e-4, atol=1e-5)


def test_masked_training_metrics_count_valid_steps_only(xp):
    data = training_variants.make_data()
    model, _ = training_variants.build(keras, "masked_sequence_labels")
    tokens, labels = data["tokens"], data["step_labels"]
    valid = tokens != 0
    # One full batch: the training metric is the masked accuracy before the update.
    before = model.predict(tokens, verbose=0).argmax(-1) == labels
    history = model.fit(tokens, labels, batch_size=64, epochs=1, shuffle=False, verbose=0)
    assert history.history["acc"][0] == pytest.approx(before[valid].mean(), rel=1e-6)
    evaluated = model.evaluate(tokens, labels, verbose=0, return_dict=True)
    after = model.predict(tokens, verbose=0).argmax(-1) == labels
    assert evaluated["acc"] == pytest.approx(after[valid].mean(), rel=1e-6)
    assert evaluated["acc"] != pytest.approx(after.mean(), rel=1e-3)
