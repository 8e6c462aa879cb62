"""Helpers shared by the tests/test_callbacks_*.py files: a tiny model and data."""

from __future__ import annotations

import numpy as np

from gpukeras import ops, optimizers
from gpukeras.layers import Dense, Input
from gpukeras.models import Model, Sequential

MODEL_KINDS = ["sequential", "functional chain", "functional graph"]


def tiny_model(optimizer="sgd", metrics=("accuracy",), kind="sequential"):
    """A 3 -> 4 -> 2 softmax classifier, compiled: a Sequential, or (``kind``) the same
    layers as a ``"functional chain"`` or as a ``"functional graph"`` that also feeds the
    input to the head (the tape step)."""
    if kind == "sequential":
        model = Sequential(
            [Dense(4, input_dim=3, activation="relu"), Dense(2, activation="softmax")]
        )
    else:
        inputs = Input((3,))
        features = Dense(4, activation="relu")(inputs)
        if kind == "functional graph":
            features = ops.concatenate([features, inputs], axis=-1)
        model = Model(inputs, Dense(2, activation="softmax")(features))
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
