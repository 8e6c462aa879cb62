"""User-written layers, losses and models train exactly as in Keras 3 (JAX backend).

Fixtures: tests/fixtures/make_autodiff_fixtures.py, from the cases in
tests/fixtures/autodiff_cases.py, which run unchanged on both libraries. Each case starts
from the recorded initial weights; per-epoch logs and final weights must agree to 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
from tests.fixtures import autodiff_cases

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "autodiff_parity.npz")


def tape_train_step(self, data):
    """The Keras guide's custom step, TensorFlow/PyTorch flavour: a GradientTape."""
    x, y = data
    with keras.GradientTape() as tape:
        y_pred = self(x, training=True)
        loss = autodiff_cases.custom_loss(keras, y, y_pred)
    grads = tape.gradient(loss, self.trainable_variables)
    self.optimizer.apply(grads, self.trainable_variables)
    for metric in self.metrics:
        if metric.name == "loss":
            metric.update_state(loss)
        else:
            metric.update_state(y, y_pred)
    return {m.name: m.result() for m in self.metrics}


def value_and_grad_train_step(self, data):
    """The same step with ``value_and_grad`` over a function of the weights."""
    x, y = data
    variables = self.trainable_variables

    def loss_fn(_variables):  # the model reads its variables itself
        y_pred = self(x, training=True)
        return autodiff_cases.custom_loss(keras, y, y_pred), y_pred

    (loss, y_pred), grads = keras.value_and_grad(loss_fn, has_aux=True)(variables)
    self.optimizer.apply(grads, variables)
    self.loss_tracker.update_state(loss)
    self.mae_metric.update_state(y, y_pred)
    return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}


STEPS = {"gradient_tape": tape_train_step, "value_and_grad": value_and_grad_train_step}


def _replay(case: str, train_step=None):
    model, _ = autodiff_cases.build(keras, case, train_step=train_step)
    initial = [FIXTURE[f"{case}/initial/{i}"] for i in range(len(model.get_weights()))]
    model.set_weights(initial)
    history = model.fit(FIXTURE["x"], FIXTURE["y"], **autodiff_cases.FIT)
    return model, history.history


def _assert_matches_keras(case: str, model, history) -> None:
    keys = sorted(k.split("/")[2] for k in FIXTURE.files if k.startswith(f"{case}/history/"))
    assert sorted(history) == keys
    for key in keys:
        np.testing.assert_allclose(
            history[key], FIXTURE[f"{case}/history/{key}"], rtol=1e-5, atol=1e-7, err_msg=key
        )
    weights = model.get_weights()
    assert len(weights) == len([k for k in FIXTURE.files if k.startswith(f"{case}/final/")])
    for i, weight in enumerate(weights):
        np.testing.assert_allclose(
            weight, FIXTURE[f"{case}/final/{i}"], rtol=1e-5, atol=1e-6, err_msg=f"weight {i}"
        )


@pytest.mark.parametrize("case", [c for c in autodiff_cases.CASES if c != "custom_train_step"])
def test_user_code_trains_as_in_keras_3(xp, case):
    model, history = _replay(case)
    _assert_matches_keras(case, model, history)


@pytest.mark.parametrize("flavour", sorted(STEPS))
def test_a_custom_train_step_trains_as_in_keras_3(xp, flavour):
    model, history = _replay("custom_train_step", STEPS[flavour])
    _assert_matches_keras("custom_train_step", model, history)
