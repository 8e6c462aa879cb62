"""The CUDA bodies of the optimizer kernels agree with their NumPy twins, checked without a GPU.

Each ``ElementwiseOp``'s CUDA operation is wrapped in a C++ loop (``typedef float T``), built
with the host compiler and run on the same inputs as the twin. Skipped when no ``g++`` exists;
on a GPU machine the parity tests in test_optimizers.py run the real kernels too.
"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess

import numpy as np
import pytest

from gpukeras.backend.kernels import optimizers as kernels

CXX = shutil.which("g++")
pytestmark = pytest.mark.skipif(CXX is None, reason="needs g++ to build the kernel bodies")


def _names(params: str) -> list[str]:
    return [p.split()[-1] for p in params.split(",")]


_BUILT: dict[str, tuple] = {}


def _build(op, tmp_path_factory):
    if op.name not in _BUILT:
        _BUILT[op.name] = _compile(op, tmp_path_factory)
    return _BUILT[op.name]


def _compile(op, tmp_path_factory):
    ins, outs = _names(op.in_params), _names(op.out_params)
    args = ["long n"]
    args += [f"const float* p_{n}, long s_{n}" for n in ins]
    args += [f"float* p_{n}" for n in outs]
    loads = "".join(f"const T {n} = p_{n}[i * s_{n}];\n" for n in ins)
    refs = "".join(f"T& {n} = p_{n}[i];\n" for n in outs)
    source = (
        "#include <cmath>\nusing std::sqrt;\ntypedef float T;\n"
        f'extern "C" void run({", ".join(args)}) {{\n'
        f"for (long i = 0; i < n; ++i) {{\n{loads}{refs}{op.operation}\n}}\n}}\n"
    )
    folder = tmp_path_factory.mktemp("kernels")
    stem = folder / f"{op.name}_{hashlib.md5(source.encode()).hexdigest()[:8]}"
    stem.with_suffix(".cpp").write_text(source)
    library = stem.with_suffix(".so")
    command = [CXX, "-O1", "-ffp-contract=off", "-shared", "-fPIC"]
    subprocess.run([*command, str(stem.with_suffix(".cpp")), "-o", str(library)], check=True)
    return ctypes.CDLL(str(library)).run, len(ins)


def _run_cpp(run, n_inputs, args):
    keep, c_args = [], [ctypes.c_long(args[n_inputs].size)]
    for value in args[:n_inputs]:
        array = np.array(value, dtype=np.float32, order="C")
        keep.append(array)
        pointer = array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        c_args += [pointer, ctypes.c_long(1 if array.ndim else 0)]
    for output in args[n_inputs:]:
        c_args.append(output.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    run(*c_args)


OPS = {
    "sgd": (lambda: kernels.sgd_op(False, False), []),
    "sgd_momentum": (lambda: kernels.sgd_op(True, False), [0.9]),
    "sgd_nesterov": (lambda: kernels.sgd_op(True, True), [0.9]),
    "rmsprop": (lambda: kernels.rmsprop_op(False, False), [0.9, 0.1, 1e-7]),
    "rmsprop_momentum": (lambda: kernels.rmsprop_op(False, True), [0.9, 0.1, 1e-7, 0.5]),
    "rmsprop_centered": (lambda: kernels.rmsprop_op(True, False), [0.8, 0.2, 1e-3]),
    "rmsprop_both": (lambda: kernels.rmsprop_op(True, True), [0.8, 0.2, 1e-3, 0.5]),
    "adam": (lambda: kernels.adam_op(False), [0.003, 0.1, 0.001, 1e-7]),
    "adam_amsgrad": (lambda: kernels.adam_op(True), [0.003, 0.1, 0.001, 1e-7]),
    "adamax": (lambda: kernels.adamax_op(), [0.1, 0.999, 0.271, 1e-7]),
    "nadam": (lambda: kernels.nadam_op(), [0.1, 0.001, 0.87, 0.2, 0.15, 0.1, 0.003, 1e-7]),
    "adagrad": (lambda: kernels.adagrad_op(), [1e-7]),
    "adadelta": (lambda: kernels.adadelta_op(), [0.95, 0.05, 1e-7]),
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("clip", ["none", "scale", "value"])
def test_cuda_body_matches_numpy_twin(name, clip, tmp_path_factory):
    make, scalars = OPS[name]
    op = make()
    rng = np.random.default_rng(7)
    shape = (5, 7)
    grad = rng.normal(size=shape).astype("float32")
    gmul = np.array(0.5 if clip == "scale" else 1.0, dtype="float32")
    gdiv = np.array(1.7 if clip == "scale" else 1.0, dtype="float32")
    glo, ghi = (-0.3, 0.3) if clip == "value" else (-np.inf, np.inf)
    prologue = [grad, gmul, gdiv, float(glo), float(ghi), 0.01, 0.05]
    n_slots = len(_names(op.out_params)) - 1
    # Slots hold non-negative running averages; a large first slot keeps RMSprop's centered
    # denominator (velocity - average^2) positive so every sqrt is defined.
    outputs = [rng.normal(size=shape).astype("float32")]
    outputs += [
        (0.3 * np.abs(rng.normal(size=shape)) + 0.1).astype("float32") for _ in range(n_slots)
    ]
    if n_slots:
        outputs[1] += 2.0
    twin_outputs = [o.copy() for o in outputs]
    op.numpy_twin(*prologue, *scalars, *twin_outputs)
    run, n_inputs = _build(op, tmp_path_factory)
    _run_cpp(run, n_inputs, [*prologue, *scalars, *outputs])
    for cpp, twin in zip(outputs, twin_outputs, strict=True):
        np.testing.assert_allclose(cpp, twin, rtol=1e-6, atol=1e-7)


def test_ema_body_matches_twin(tmp_path_factory):
    op = kernels.ema_op()
    rng = np.random.default_rng(3)
    param = rng.normal(size=(4, 3)).astype("float32")
    average = rng.normal(size=(4, 3)).astype("float32")
    expected = average.copy()
    op.numpy_twin(0.9, 0.1, param, expected)
    run, n_inputs = _build(op, tmp_path_factory)
    _run_cpp(run, n_inputs, [0.9, 0.1, param, average])
    np.testing.assert_allclose(average, expected, rtol=1e-6, atol=1e-7)
