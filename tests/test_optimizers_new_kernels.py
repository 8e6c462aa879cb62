"""The new optimizers' fused kernels: each CUDA body, compiled for the CPU, gives its NumPy
twin's numbers (the same check ``test_host_kernels`` makes for the older optimizers)."""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras.backend.kernels import _host
from gpukeras.backend.kernels import optimizers_extra as kernels

needs_compiler = pytest.mark.skipif(
    _host._compiler() is None, reason="needs a C++ compiler to build the CPU loops"
)
pytestmark = pytest.mark.numpy_only("the C++ loops run on the NumPy backend")

#: name: (op, optimizer scalars, whether the body calls libm (pow) and so runs on its twin).
CASES = {
    "ftrl": (kernels.ftrl_op(), [0.02, 0.5, 0.3, 0.05], True),
    "ftrl_fixed_rate": (kernels.ftrl_op(), [0.0, 0.0, 0.0, 0.0], True),
    "lion": (kernels.lion_op(), [0.9, 0.1, 0.99, 0.01], False),
    "schedule_free_adamw": (
        kernels.schedule_free_adamw_op(),
        [0.01, 0.001, 0.002, 1e-8, 0.5, 0.5, 0.9, 0.1],
        False,
    ),
    "clip_decay": (kernels.clip_decay_op(), [], False),
    "lamb_moments": (kernels.lamb_moments_op(), [0.1, 0.001, 0.19, 0.002, 1e-7], False),
    "muon_momentum": (kernels.muon_momentum_op(False), [0.95, -0.05], False),
    "muon_momentum_nesterov": (kernels.muon_momentum_op(True), [0.95, -0.05], False),
}


@pytest.fixture(autouse=True)
def _loops_for_any_size(monkeypatch):
    monkeypatch.setattr(_host, "MIN_ELEMENTS", 1)


def _both_ways(op, inputs, outputs, exact):
    compiled = [o.copy() for o in outputs]
    twin = [o.copy() for o in outputs]
    assert _host.run(op, (*inputs, *compiled), exact_only=exact), "the compiled loop did not run"
    op.numpy_twin(*inputs, *twin)
    return compiled, twin


@needs_compiler
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("clip", ["none", "scale", "value", "decay"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_update_bodies_give_their_twins_numbers(name, clip, dtype):
    op, scalars, calls_libm = CASES[name]
    rng = np.random.default_rng(11)
    shape = (29, 7)  # odd sizes: the vectorised loop's remainder runs too
    grad = rng.normal(size=shape).astype(dtype)
    gmul = np.array(0.5 if clip == "scale" else 1.0, dtype=dtype)
    gdiv = np.array(1.7 if clip == "scale" else 1.0, dtype=dtype)
    glo, ghi = (-0.3, 0.3) if clip == "value" else (-np.inf, np.inf)
    wd = 0.01 if clip == "decay" else 0.0
    n_slots = len(op.out_params.split(",")) - 1
    outputs = [rng.normal(size=shape).astype(dtype)]
    # Positive slots: Ftrl's accumulator and Adam-style velocities are sums of squares.
    outputs += [(0.3 * np.abs(rng.normal(size=shape)) + 0.1).astype(dtype) for _ in range(n_slots)]
    inputs = [grad, gmul, gdiv, glo, ghi, wd, 0.05, *scalars]
    if calls_libm:  # libm bodies never replace their twins unless asked
        assert not _host.run(op, (*inputs, *[o.copy() for o in outputs]))
    for _ in range(3):  # a few steps, each from the previous step's state
        compiled, twin = _both_ways(op, inputs, outputs, exact=not calls_libm)
        for got, expected in zip(compiled, twin, strict=True):
            if calls_libm:
                np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)
            else:
                np.testing.assert_array_equal(got, expected)
        outputs = twin


@needs_compiler
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("ratio", "divisor", "scale", "rate"), [(1, 1, 1, 1), (0.7, 1.3, 2.0, 0.2)]
)
def test_scaled_step_body_gives_its_twins_numbers(dtype, ratio, divisor, scale, rate):
    op = kernels.scaled_step_op()
    rng = np.random.default_rng(2)
    update = rng.normal(size=(13, 5)).astype(dtype)
    param = rng.normal(size=(13, 5)).astype(dtype)
    inputs = [update, np.array(ratio, dtype), np.array(divisor, dtype), 0.05, scale, rate]
    compiled, twin = _both_ways(op, inputs, [param], exact=True)
    np.testing.assert_array_equal(compiled[0], twin[0])
    expected = param - np.asarray(ratio * 0.05 * (update / divisor) * scale * rate, dtype)
    np.testing.assert_allclose(twin[0], expected, rtol=1e-6)


def test_every_new_kernel_is_registered_for_the_cuda_compile_check():
    from gpukeras.backend.kernels import _registry

    names = {kernel.name for kernel in _registry.all_kernels()}
    expected = {
        "ftrl", "lion", "schedule_free_adamw", "clip_decay", "lamb_moments",
        "muon_momentum_plain", "muon_momentum_nesterov", "scaled_step",
    }  # fmt: skip
    assert expected <= names
