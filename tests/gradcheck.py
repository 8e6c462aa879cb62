"""Central finite differences in float64, for checking hand-written backward passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gpukeras import backend as K


def numerical_gradient(f: Callable[[], float], array: Any, eps: float = 1e-6) -> np.ndarray:
    """d f() / d array, perturbing ``array`` in place one entry at a time."""
    host = np.zeros(array.shape, dtype=np.float64)
    flat = array.reshape(-1)
    for i in range(flat.size):
        original = float(K.to_host(flat[i]))
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        host.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return host


def check_layer_gradients(
    layer: Any,
    x: Any,
    seed: int = 0,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    training: bool = False,
) -> None:
    """Compare ``layer.backward`` (input and weight grads) with finite differences.

    The scalar checked is ``sum(forward(x) * r)`` for a fixed random ``r``, so
    every output entry matters.
    """
    x = K.to_device(np.asarray(x, dtype=np.float64))
    layer.ensure_built(tuple(x.shape))
    y = layer.forward(x, training=training)
    r = K.to_device(np.random.default_rng(seed).normal(size=y.shape))

    def objective() -> float:
        return float(K.to_host((layer.forward(x, training=training) * r).sum()))

    layer.forward(x, training=training)
    analytic_x = K.to_host(layer.backward(r))
    analytic_w = [K.to_host(w.grad).copy() for w in layer.trainable_weights]
    np.testing.assert_allclose(analytic_x, numerical_gradient(objective, x), rtol=rtol, atol=atol)
    for variable, analytic in zip(layer.trainable_weights, analytic_w):
        numeric = numerical_gradient(objective, variable.value)
        np.testing.assert_allclose(
            analytic, numeric, rtol=rtol, atol=atol, err_msg=f"gradient of {variable.path}"
        )
