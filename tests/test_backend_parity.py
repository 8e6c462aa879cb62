"""NumPy and CuPy give the same training run within float32 tolerance (needs a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from tests.conftest import GPU_AVAILABLE

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not GPU_AVAILABLE, reason="needs a CUDA GPU and CuPy"),
]


def _train(backend_name, initial, x, y, optimizer):
    K.set_backend(backend_name)
    try:
        model = keras.Sequential(
            [
                keras.Input((x.shape[1],)),
                keras.layers.Dense(32, activation="relu"),
                keras.layers.Dense(y.shape[1], activation="softmax"),
            ]
        )
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        if initial is not None:
            model.set_weights(initial)
        history = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
        return model.get_weights(), history.history
    finally:
        K.set_backend("numpy")


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam", "adamw", "nadam"])
def test_cupy_training_matches_numpy(optimizer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 20)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 256)]
    initial, _ = _train("numpy", None, x[:1], y[:1], "sgd")
    weights_np, history_np = _train("numpy", initial, x, y, optimizer)
    weights_cp, history_cp = _train("cupy", initial, x, y, optimizer)
    np.testing.assert_allclose(history_cp["loss"], history_np["loss"], rtol=1e-4)
    for a, b in zip(weights_cp, weights_np):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
