"""Regression tests for bugs found in the core-engine review (one test per finding)."""

from __future__ import annotations

import numpy as np

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import mixed_precision
from gpukeras.layers import Dense, Dropout, Input


def _model(features=3, classes=2):
    model = keras.Sequential(
        [Input((features,)), Dense(4, activation="relu"), Dense(classes, activation="softmax")]
    )
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


def _data(n=10, features=3, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]


def test_dropout_trains_under_mixed_float16(xp):
    # The generators draw only float32/float64; float16 inputs used to raise TypeError.
    mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = Dropout(0.5)
        x = xp.ones((64, 8), dtype="float16")
        y = layer(x, training=True)
        assert y.dtype == np.float16
        kept = K.to_host(y != 0)
        assert 0 < kept.mean() < 1
        np.testing.assert_array_equal(K.to_host(y)[kept], 2.0)
    finally:
        mixed_precision.set_global_policy(None)


def test_validation_split_rounds_the_training_part_down_like_keras(xp):
    # Keras 3: split_at = floor(n * (1 - validation_split)); 10 * 0.75 -> 7 train, 3 held out.
    x, y = _data(n=10)
    history = _model().fit(x, y, validation_split=0.25, epochs=1, verbose=0)
    assert history.params["samples"] == 7
