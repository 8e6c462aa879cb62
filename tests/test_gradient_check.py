"""gpukeras.utils.check_gradients: passes correct backward passes, names the wrong one."""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import layers
from gpukeras.layers import Layer
from gpukeras.utils import check_gradients

RNG = np.random.default_rng(0)


class Scale(Layer):
    """y = x * w (one weight per feature); ``wrong`` breaks the weight gradient."""

    def __init__(self, wrong=False, **kwargs):
        super().__init__(**kwargs)
        self.wrong = wrong

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializer="random_normal")

    def forward(self, x, training=False):
        self.x = x
        return x * self.w.value

    def backward(self, grad):
        self.w.grad[...] = (grad * self.x).sum(axis=0) * (2.0 if self.wrong else 1.0)
        return grad * self.w.value


def test_correct_backward_passes_and_reports_small_errors(backend_name):
    layer = layers.Dense(3, activation="tanh", dtype="float64")
    errors = check_gradients(layer, RNG.normal(size=(4, 5)))
    assert errors.keys() == {"input", f"{layer.name}/kernel", f"{layer.name}/bias"}
    assert max(errors.values()) < 1e-7


def test_a_wrong_weight_gradient_is_named(backend_name):
    layer = Scale(wrong=True, dtype="float64", name="scale")
    with pytest.raises(AssertionError, match="gradient of scale/w"):
        check_gradients(layer, RNG.normal(size=(3, 4)))
    check_gradients(Scale(dtype="float64"), RNG.normal(size=(3, 4)))


def test_float32_layers_are_refused_with_advice():
    with pytest.raises(ValueError, match="dtype='float64'.*Received: Dense with dense.*float32"):
        check_gradients(layers.Dense(2), np.ones((2, 3)))


def test_input_is_not_modified():
    x = RNG.normal(size=(2, 3))
    before = x.copy()
    check_gradients(Scale(dtype="float64"), x)
    np.testing.assert_array_equal(x, before)
    assert K.floatx() == "float32"
