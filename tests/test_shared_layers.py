"""Shared layers beyond the registry sweep: hand-written layers kept whole per call,
the float32 kernels that keep a call's data in reused buffers, and Keras's behaviour for
layers that change state in forward (moving statistics, dropout masks)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gpukeras.layers
from gpukeras import backend as K
from gpukeras.layers import Layer
from tests._call_state_cases import Case
from tests._call_state_helpers import built, check_two_calls, two_inputs

_FLAGS_SEEN: list[bool] = []


class _Scale(Layer):
    """A hand-written layer that declares nothing: ``x * w``, keeping ``x`` on self."""

    def build(self, input_shape: Any) -> None:
        self.w = self.add_weight("w", (input_shape[-1],), "random_normal")

    def forward(self, x: Any, training: bool = False) -> Any:
        self._x = x
        return x * self.w.value

    def backward(self, grad: Any) -> Any:
        self.w.grad[...] = (grad * self._x).sum(axis=0)
        self.backward_saw_needs_input_grad = self.needs_input_grad
        _FLAGS_SEEN.append(self.needs_input_grad)
        return grad * self.w.value if self.needs_input_grad else None


class _Doubled(Layer):
    """A hand-written wrapper that declares nothing: ``2 * tanh(inner(x))``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inner = gpukeras.layers.Dense(3, activation="tanh", dtype="float64")

    def build(self, input_shape: Any) -> None:
        self.inner.ensure_built(input_shape)

    @property
    def trainable_weights(self) -> list[Any]:
        return self.inner.trainable_weights

    @property
    def weights(self) -> list[Any]:
        return self.inner.weights

    def forward(self, x: Any, training: bool = False) -> Any:
        return self.inner.forward(x, training) * 2.0

    def backward(self, grad: Any) -> Any:
        return self.inner.backward(grad * 2.0)


@pytest.mark.parametrize("make", [_Scale, _Doubled])
def test_a_hand_written_layer_that_declares_nothing_is_kept_whole_per_call(xp, make):
    case = Case(lambda: make(dtype="float64"), (3, 4))
    xa, xb, rng = two_inputs(case, xp)
    check_two_calls(built(case), case, xa, xb, None, rng, second_pullback_first=False)


# -- float32 fast kernels that keep state in reused buffers -------------------------
def test_a_winograd_convolution_called_twice_keeps_the_first_calls_gradient():
    if K.backend() != "numpy":
        pytest.skip("Winograd F(4x4, 3x3) runs on the NumPy backend only")
    layer = gpukeras.layers.Conv2D(8, 3, padding="same")
    layer.ensure_built((2, 8, 8, 8))
    rng = np.random.default_rng(3)
    xa, xb = (rng.normal(size=(2, 8, 8, 8)).astype(np.float32) for _ in range(2))
    grad = rng.normal(size=(2, 8, 8, 8)).astype(np.float32)
    _, _, pullback = layer.forward_with_pullback(xa, True)
    expected = pullback(grad)
    assert layer._winograd is not None  # the Winograd plan ran
    _, _, pullback = layer.forward_with_pullback(xa, True)
    layer.forward_with_pullback(xb, True)
    got = pullback(grad)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-6)
    for g, e in zip(got[1], expected[1]):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-5)


def test_batch_normalization_called_twice_updates_its_moving_mean_twice_in_order(xp):
    # Keras 3 (checked on the JAX backend) applies a shared layer's two updates in turn.
    layer = gpukeras.layers.BatchNormalization(momentum=0.9, dtype="float64")
    layer.ensure_built((4, 3))
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) + 2.0
    for x in (xa, xb):
        layer.forward_with_pullback(xp.asarray(x), True)
    expected = 0.9 * (0.1 * xa.mean(axis=0)) + 0.1 * xb.mean(axis=0)
    np.testing.assert_allclose(K.to_host(layer.moving_mean.value), expected, rtol=1e-12)


def test_dropout_called_twice_draws_a_new_mask_for_each_call_and_keeps_each(xp):
    # Keras 3 draws each call's mask from the layer's advancing seed stream.
    layer = gpukeras.layers.Dropout(0.5, dtype="float64")
    x = xp.ones((8, 16))
    ya, _, pullback_a = layer.forward_with_pullback(x, True)
    yb, _, pullback_b = layer.forward_with_pullback(x, True)
    assert not np.array_equal(K.to_host(ya), K.to_host(yb))
    np.testing.assert_array_equal(K.to_host(pullback_a(x)[0]), K.to_host(ya))
    np.testing.assert_array_equal(K.to_host(pullback_b(x)[0]), K.to_host(yb))


@pytest.mark.parametrize("wanted", [True, False])
def test_a_hand_written_layer_sees_need_input_grad_in_its_backward(wanted):
    layer = _Scale(dtype="float64")
    y, _, pullback = layer.forward_with_pullback(K.to_device(np.ones((2, 3))), True)
    grad_x, _ = pullback(K.to_device(np.ones((2, 3))), need_input_grad=wanted)
    assert (grad_x is not None) is wanted
    assert _FLAGS_SEEN[-1] is wanted
    assert layer.__dict__.get("backward_saw_needs_input_grad") is None  # put back after
    assert layer.needs_input_grad is True


def test_a_layer_class_held_as_an_attribute_is_not_taken_for_a_wrapped_layer():
    layer = _Scale(dtype="float64")
    layer.kind = gpukeras.layers.Dense  # a class, not a layer
    y, _, pullback = layer.forward_with_pullback(K.to_device(np.ones((2, 3))), True)
    assert pullback(K.to_device(np.ones((2, 3))))[0].shape == (2, 3)
