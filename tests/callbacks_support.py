"""Helpers shared by the tests/test_callbacks_*.py files: a tiny model and data."""

from __future__ import annotations

import numpy as np

from gpukeras import optimizers
from gpukeras.layers import Dense
from gpukeras.models import Sequential


def tiny_model(optimizer="sgd", metrics=("accuracy",)):
    """A 3 -> 4 -> 2 softmax classifier, compiled."""
    model = Sequential([Dense(4, input_dim=3, activation="relu"), Dense(2, activation="softmax")])
    model.compile(optimizer, "categorical_crossentropy", metrics=list(metrics))
    return model


def tiny_data(samples=64, seed=0):
    """Inputs (samples, 3) and one-hot targets (samples, 2) as float32."""
    rng = np.random.default_rng(seed)
    x = rng.random((samples, 3), dtype=np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, samples)]
    return x, y


class FakeModel:
    """What the learning-rate callbacks touch: an optimizer, metrics, stop_training."""

    def __init__(self, learning_rate=0.01, optimizer=None):
        self.optimizer = optimizer or optimizers.SGD(learning_rate=learning_rate)
        self.metrics = []
        self.stop_training = False
