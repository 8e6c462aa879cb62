"""Winograd F(4x4, 3x3): the NumPy kernel against float64 direct convolutions, Conv2D with
it against real Keras 3 (tests/fixtures/make_conv_fixtures.py) and against the im2col path
(outputs and every gradient)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from gpukeras import backend as K
from gpukeras import layers
from gpukeras.backend.kernels.conv import ConvGeometry
from gpukeras.backend.kernels.winograd import WinogradF43
from tests._conv_fixtures import fixture
from tests.fixtures.conv_cases import WINOGRAD_CASES

RNG = np.random.default_rng(5)


def _direct(x, kernel, grad_z, g):
    """Float64 output, kernel gradient and input gradient of the convolution ``g``."""
    padded = np.zeros((g.batch, g.out_h + 2, g.out_w + 2, g.channels))
    rows, cols = min(g.height, g.out_h + 2 - g.pad_top), min(g.width, g.out_w + 2 - g.pad_left)
    inside = (slice(None), slice(g.pad_top, g.pad_top + rows), slice(g.pad_left, g.pad_left + cols))
    padded[inside] = x[:, :rows, :cols]
    windows = sliding_window_view(padded, (3, 3), axis=(1, 2))
    z = np.einsum("nhwcij,ijcf->nhwf", windows, kernel)
    kernel_grad = np.einsum("nhwcij,nhwf->ijcf", windows, grad_z)
    grad_padded = np.zeros_like(padded)
    for i in range(3):
        for j in range(3):
            grad_padded[:, i : i + g.out_h, j : j + g.out_w] += grad_z @ kernel[i, j].T
    grad_x = np.zeros(x.shape)
    grad_x[:, :rows, :cols] = grad_padded[inside]
    return z, kernel_grad, grad_x


GEOMETRIES = [
    ConvGeometry(2, 13, 13, 8, 3, 3, 1, 1, 1, 1, 0, 0, 11, 11),  # valid, partial tiles
    ConvGeometry(3, 6, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 6, 5),  # same
    ConvGeometry(1, 4, 3, 8, 3, 3, 1, 1, 1, 1, 0, 0, 2, 1),  # one partial tile
    ConvGeometry(2, 10, 14, 16, 3, 3, 1, 1, 1, 1, 0, 0, 8, 12),  # whole tiles only
]


@pytest.mark.parametrize("g", GEOMETRIES, ids=str)
def test_kernel_matches_direct_convolution(g):
    filters = 5
    x = RNG.normal(size=g.input_shape).astype(np.float32)
    kernel = (RNG.normal(size=(3, 3, g.channels, filters)) * 0.3).astype(np.float32)
    grad_z = RNG.normal(size=(g.batch, g.out_h, g.out_w, filters)).astype(np.float32)
    bias = RNG.normal(size=filters).astype(np.float32)
    plan = WinogradF43(g, filters, np.float32)
    z = np.empty(grad_z.shape, np.float32)
    kernel_grad = np.empty(kernel.shape, np.float32)
    grad_x = np.empty(g.input_shape, np.float32)
    bias_grad = np.empty(filters, np.float32)
    for _ in range(2):  # buffers reused: the second step must not see the first
        plan.forward(x, kernel, z, bias)
        plan.backward(grad_z, kernel_grad, grad_x, bias_grad)
    z_direct, *expected = _direct(x.astype(float), kernel.astype(float), grad_z.astype(float), g)
    expected = [z_direct + bias, *expected, grad_z.astype(float).sum(axis=(0, 1, 2))]
    for got, want in zip((z, kernel_grad, grad_x, bias_grad), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * np.abs(want).max())


def test_applies_only_to_3x3_stride_1_undilated():
    assert WinogradF43.applies(GEOMETRIES[0])
    assert not WinogradF43.applies(ConvGeometry(1, 9, 9, 8, 3, 3, 2, 2, 1, 1, 0, 0, 4, 4))
    assert not WinogradF43.applies(ConvGeometry(1, 9, 9, 8, 3, 3, 1, 1, 2, 2, 0, 0, 5, 5))
    assert not WinogradF43.applies(ConvGeometry(1, 9, 9, 8, 3, 5, 1, 1, 1, 1, 0, 0, 7, 5))


@pytest.mark.parametrize("case", WINOGRAD_CASES, ids=[c[0] for c in WINOGRAD_CASES])
def test_forward_matches_keras(case):
    name, class_name, kwargs, _ = case
    data = fixture("conv_winograd.npz")
    layer = getattr(layers, class_name)(**kwargs)
    layer.ensure_built(data[f"{name}/x"].shape)
    layer.set_weights([data[f"{name}/w{i}"] for i in range(len(layer.weights))])
    y = K.to_host(layer(K.to_device(data[f"{name}/x"])))
    assert layer._winograd is not None or K.backend() != "numpy"
    expected = data[f"{name}/y"]
    # float32 Winograd: errors of ~1e-6 of the largest output (im2col: ~1e-7)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def _run(layer, x, grad, needs_input_grad=True):
    y = K.to_host(layer.forward(x, training=True)).copy()
    layer.needs_input_grad = needs_input_grad
    grad_x = layer.backward(grad)
    layer.needs_input_grad = True
    grads = [K.to_host(v.grad).copy() for v in (layer.kernel, layer.bias)]
    return [y, None if grad_x is None else K.to_host(grad_x).copy(), *grads]


@pytest.mark.numpy_only("Winograd is the NumPy path's convolution")
@pytest.mark.parametrize(
    "options",
    [{"activation": "relu"}, {"activation": "tanh", "padding": "same"}, {},
     {"data_format": "channels_first", "activation": "relu"}],
    ids=str,
)  # fmt: skip
@pytest.mark.parametrize("needs_input_grad", [True, False])
def test_conv2d_with_winograd_matches_im2col(options, needs_input_grad):
    layer = layers.Conv2D(6, 3, bias_initializer="random_normal", **options)
    first = options.get("data_format") == "channels_first"
    x = RNG.normal(size=(3, 8, 11, 9) if first else (3, 11, 9, 8)).astype(np.float32)
    y = layer(x)
    grad = RNG.normal(size=y.shape).astype(np.float32)
    fast = _run(layer, x, grad, needs_input_grad)
    assert layer._winograd is not None  # the Winograd path ran
    layer.use_winograd = False
    plain = _run(layer, x, grad, needs_input_grad)
    assert layer._winograd is None
    for got, expected in zip(fast, plain):
        if expected is None:
            assert got is None
            continue
        # float32 both ways: errors of ~1e-6 of the array's largest entry
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5 * np.abs(expected).max())


@pytest.mark.parametrize(
    "kwargs, shape",
    [({"strides": 2}, (2, 9, 9, 8)), ({}, (2, 9, 9, 4)), ({"groups": 2}, (2, 9, 9, 8))],
    ids=["strided", "few channels", "grouped"],
)
def test_other_convolutions_keep_im2col(kwargs, shape):
    layer = layers.Conv2D(4, 3, **kwargs)
    layer(RNG.normal(size=shape).astype(np.float32))
    assert layer._winograd is None
    layer = layers.Conv2D(4, 3, dtype="float64")
    layer(RNG.normal(size=(2, 9, 9, 8)))
    assert layer._winograd is None
