"""The Dense/softmax fast path: fused kernels match the unfused code, buffers never leak."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import tracemalloc

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import activations, losses
from gpukeras import backend as K
from gpukeras.backend.kernels import dense as dense_kernels

FUSED = ["linear", "relu", "sigmoid", "tanh", "softmax"]


def _data(xp, shape=(16, 12), seed=0):
    rng = np.random.default_rng(seed)
    return xp.asarray(rng.normal(size=shape).astype("float32") * 3.0)


@pytest.mark.parametrize("name", FUSED)
def test_bias_activation_forward_matches_activation(xp, name):
    z = _data(xp)
    bias = _data(xp, (12,), seed=1)
    expected = activations.get(name).forward(z + bias)
    fused = z.copy()
    dense_kernels.bias_activation_forward(fused, bias, name)
    np.testing.assert_array_equal(K.to_host(fused), K.to_host(expected))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax"])
def test_activation_backward_matches_activation(xp, name):
    z, grad = _data(xp), _data(xp, seed=2)
    activation = activations.get(name)
    y = activation.forward(z)
    expected = activation.backward(z, y, grad)
    out = xp.empty_like(y)
    scratch = xp.empty(y.shape, dtype="bool" if name == "relu" else y.dtype)
    got = dense_kernels.activation_backward(name, y, grad, out=out, scratch=scratch)
    np.testing.assert_array_equal(K.to_host(got), K.to_host(expected))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_softmax_crossentropy_matches_the_loss(xp, smoothing):
    rng = np.random.default_rng(3)
    probs = activations.softmax(_data(xp, (32, 10)))
    probs[0, 0] = 1.0  # one saturated row exercises the clip
    targets = xp.asarray(np.eye(10, dtype="float32")[rng.integers(0, 10, 32)])
    loss = losses.CategoricalCrossentropy(label_smoothing=smoothing)
    grad, term = xp.empty_like(probs), xp.empty_like(probs)
    smoothed = loss._targets(targets)
    per_sample = dense_kernels.softmax_crossentropy(probs, smoothed, 0.25, K.epsilon(), grad, term)
    np.testing.assert_array_equal(K.to_host(per_sample), K.to_host(loss.per_sample(targets, probs)))
    expected_grad = loss.fused_grad("softmax", targets, probs) * 0.25
    np.testing.assert_array_equal(K.to_host(grad), K.to_host(expected_grad))


class _Unfused(activations.ActivationFunction):
    """The same activation, but not the plain class: Dense takes the generic path."""


def _mlp(activation_for):
    return keras.Sequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(16, activation=activation_for("relu")),
            keras.layers.Dense(8, activation=activation_for("tanh")),
            keras.layers.Dense(8, activation=activation_for("sigmoid")),
            keras.layers.Dense(4, activation=activation_for("softmax")),
        ]
    )


def _unfused(name):
    base = activations.get(name)
    return _Unfused(base.name, base._forward, base._backward)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "mse"])
def test_fast_path_trains_bit_for_bit_like_the_generic_path(xp, loss):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 20)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 100)]
    weights, histories = [], []
    for activation_for in (activations.get, _unfused):
        K.random.seed(7)
        model = _mlp(activation_for)
        model.compile("rmsprop", loss, metrics=["accuracy"])
        histories.append(model.fit(x, y, batch_size=32, epochs=2, verbose=0).history)
        weights.append(model.get_weights())
    assert histories[0] == histories[1]
    for fast, generic in zip(*weights, strict=True):
        np.testing.assert_array_equal(fast, generic)


def test_layer_outputs_outside_fit_are_fresh_arrays(xp):
    layer = keras.layers.Dense(3, activation="relu")
    x = _data(xp, (4, 5))
    first = layer(x, training=True)
    kept = K.to_host(first).copy()
    second = layer(x * 2.0, training=True)
    assert first is not second
    np.testing.assert_array_equal(K.to_host(first), kept)


def test_predict_after_fit_is_not_overwritten_by_reused_buffers(xp):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 20)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 64)]
    model = _mlp(activations.get)
    model.compile("sgd", "categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert not any(layer.scratch_outputs for layer in model.layers)
    first = model.predict(x[:16], verbose=0)
    kept = first.copy()  # on NumPy, predict's result may be the layer's own output array
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    np.testing.assert_array_equal(first, kept)
    assert not np.array_equal(first, model.predict(x[:16], verbose=0))


def test_scratch_flag_is_cleared_when_a_step_fails():
    K.set_backend("numpy")
    model = _mlp(activations.get)
    model.compile("sgd", "categorical_crossentropy")
    x = np.zeros((8, 20), "float32")
    with pytest.raises(ValueError):
        model.train_on_batch(x, np.zeros((8, 4, 2), "float32"))
    assert not any(layer.scratch_outputs for layer in model.layers)


def test_a_training_step_allocates_little_beyond_its_batch():
    K.set_backend("numpy")
    rng = np.random.default_rng(6)
    x = rng.random((1024, 256), dtype=np.float32)
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 1024)]
    model = keras.Sequential(
        [
            keras.Input((256,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)
    tracemalloc.start()
    try:
        model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    activation_bytes = 128 * 256 * 4
    # Before the fast path a step allocated ~7 activation-sized arrays (peak ~970 kB).
    assert peak < activation_bytes, f"peak {peak} bytes"


# --- the CUDA bodies, built for the host with g++ (no GPU needed) ------------------------

CXX = shutil.which("g++")


def _cuda_body_on_host(op, inputs, outputs, tmp_path):
    """Run ``op.operation`` in a C++ loop over elements (``typedef float T``), in place."""
    names = lambda params: [p.split()[-1] for p in params.split(",") if "raw " not in p]  # noqa: E731
    ins, outs = names(op.in_params), names(op.out_params)
    args = ["long n"] + [f"const float* p_{n}" for n in ins] + [f"float* p_{n}" for n in outs]
    loads = "".join(f"const T {n} = p_{n}[i];\n" for n in ins)
    refs = "".join(f"T& {n} = p_{n}[i];\n" for n in outs)
    source = (
        "#include <cmath>\nusing std::exp; using std::fabs; using std::log; using std::tanh;\n"
        f'typedef float T;\nextern "C" void run({", ".join(args)}) {{\n'
        f"for (long i = 0; i < n; ++i) {{\n{loads}{refs}{op.operation}\n}}\n}}\n"
    )
    cpp, library = tmp_path / f"{op.name}.cpp", tmp_path / f"{op.name}.so"
    cpp.write_text(source)
    subprocess.run(
        [CXX, "-O1", "-ffp-contract=off", "-shared", "-fPIC", str(cpp), "-o", str(library)],
        check=True,
    )
    size = outputs[0].size
    full = [np.ascontiguousarray(np.broadcast_to(np.float32(a), outputs[0].shape)) for a in inputs]
    pointer = lambda a: a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))  # noqa: E731
    ctypes.CDLL(str(library)).run(ctypes.c_long(size), *map(pointer, full + outputs))


@pytest.mark.skipif(CXX is None, reason="needs g++ to build the kernel bodies")
@pytest.mark.parametrize("name", ["linear", "relu", "sigmoid", "tanh"])
def test_cuda_forward_bodies_match_numpy_twins(name, tmp_path):
    K.set_backend("numpy")
    z, bias = _data(np, (6, 5)), _data(np, (5,), seed=1)
    expected = z.copy()
    dense_kernels.bias_activation_forward(expected, bias, name)
    got = z.copy()
    _cuda_body_on_host(dense_kernels._FORWARD_OPS[name], [bias], [got], tmp_path)
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-7)


@pytest.mark.skipif(CXX is None, reason="needs g++ to build the kernel bodies")
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_cuda_backward_bodies_match_numpy_twins(name, tmp_path):
    K.set_backend("numpy")
    y = activations.get(name).forward(_data(np, (6, 5)))
    grad = _data(np, (6, 5), seed=2)
    scratch = np.empty(y.shape, dtype="bool" if name == "relu" else "float32")
    expected = dense_kernels.activation_backward(name, y, grad, np.empty_like(y), scratch)
    got = np.empty_like(y)
    _cuda_body_on_host(dense_kernels._BACKWARD_OPS[name], [y, grad], [got], tmp_path)
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-7)


@pytest.mark.skipif(CXX is None, reason="needs g++ to build the kernel bodies")
def test_cuda_softmax_crossentropy_body_matches_numpy_twin(tmp_path):
    K.set_backend("numpy")
    probs = activations.softmax(_data(np, (8, 10)))
    targets = np.eye(10, dtype="float32")[np.arange(8)]
    total, target_sum = probs.sum(-1, keepdims=True), targets.sum(-1, keepdims=True)
    scalars = [0.125, K.epsilon(), 1.0 - K.epsilon()]
    expected_term, expected_grad = np.empty_like(probs), np.empty_like(probs)
    dense_kernels._xent_twin(
        probs, targets, total, target_sum, *scalars, expected_term, expected_grad
    )
    term, grad = np.empty_like(probs), np.empty_like(probs)
    inputs = [probs, targets, total, target_sum, *scalars]
    _cuda_body_on_host(dense_kernels._XENT, inputs, [term, grad], tmp_path)
    np.testing.assert_allclose(term, expected_term, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(grad, expected_grad, rtol=2e-6, atol=1e-7)
