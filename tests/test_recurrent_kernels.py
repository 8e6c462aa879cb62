"""The CUDA bodies of the LSTM/GRU gate kernels agree with their NumPy twins, without a GPU.

Each op's CUDA operation is wrapped in a C++ loop over ``i`` (``typedef float T``) that
mimics ``cupy.ElementwiseKernel``: ``raw`` parameters are plain pointers indexed by the
body, the others are read at ``i`` after broadcasting to the loop shape. Built with the
host compiler; skipped when there is no ``g++``. On a GPU machine the layer tests run
the real kernels through the ``xp`` fixture.
"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess

import numpy as np
import pytest

from gpukeras.backend.kernels import recurrent as kernels

CXX = shutil.which("g++")
pytestmark = pytest.mark.skipif(CXX is None, reason="needs g++ to build the kernel bodies")
B, U = 5, 3


def _params(text: str) -> list[tuple[str, str, bool]]:
    """``(type, name, raw)`` for each parameter of an ElementwiseKernel signature."""
    found = []
    for part in text.split(","):
        words = part.split()
        found.append((words[-2], words[-1], words[0] == "raw"))
    return found


def _build(op, tmp_path_factory):
    ins, outs = _params(op.in_params), _params(op.out_params)
    args, prologue = ["long n"], []
    for kind, name, raw in ins + outs:
        if kind == "int32":
            args.append(f"int {name}")
        elif raw:
            args.append(f"float* {name}")
        else:
            args.append(f"float* p_{name}")
            prologue.append(f"T& {name} = p_{name}[i];")
    body = "\n".join(prologue) + op.operation
    source = (
        "#include <cmath>\n#include <cstddef>\nusing std::exp; using std::tanh;\n"
        "typedef float T;\n"
        f'extern "C" void run({", ".join(args)}) {{\n'
        f"for (std::ptrdiff_t i = 0; i < n; ++i) {{\n{body}\n}}\n}}\n"
    )
    folder = tmp_path_factory.mktemp("recurrent_kernels")
    stem = folder / f"{op.name}_{hashlib.md5(source.encode()).hexdigest()[:8]}"
    stem.with_suffix(".cpp").write_text(source)
    library = stem.with_suffix(".so")
    command = [CXX, "-O1", "-ffp-contract=off", "-shared", "-fPIC"]
    subprocess.run([*command, str(stem.with_suffix(".cpp")), "-o", str(library)], check=True)
    return ctypes.CDLL(str(library)).run, ins + outs


def _run_cpp(op, tmp_path_factory, args):
    run, params = _build(op, tmp_path_factory)
    arrays, c_args = [], [ctypes.c_long(B * U)]
    for (kind, _name, raw), value in zip(params, args):
        if kind == "int32":
            c_args.append(ctypes.c_int(value))
            continue
        array = value if raw else np.ascontiguousarray(np.broadcast_to(value, (B, U)))
        arrays.append(array)
        c_args.append(array.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    run(*c_args)
    return arrays


def _random(rng, *shape):
    return rng.normal(size=shape).astype(np.float32)


MASK = np.array([[1], [0], [1], [1], [0]], dtype=np.float32)


def _compare(op, tmp_path_factory, args, outputs):
    """Run the twin and the C++ body on copies of ``args``; compare the output arrays."""
    twin_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    cpp_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    op.numpy_twin(*twin_args)
    cpp_arrays = _run_cpp(op, tmp_path_factory, cpp_args)
    n_in = len(_params(op.in_params))
    params = _params(op.in_params) + _params(op.out_params)
    by_position = {}
    arrays = iter(cpp_arrays)
    for position, (kind, _name, _raw) in enumerate(params):
        if kind != "int32":
            by_position[position] = next(arrays)
    for position in range(n_in, len(params)):
        if position in outputs:
            np.testing.assert_allclose(
                by_position[position], twin_args[position], rtol=2e-5, atol=2e-6,
                err_msg=f"{op.name}: {params[position][1]}",
            )  # fmt: skip


def test_lstm_forward_body(tmp_path_factory):
    rng = np.random.default_rng(0)
    args = [
        _random(rng, B, 4 * U),  # xw
        _random(rng, B, U),  # c_prev
        _random(rng, B, U),  # h_prev
        MASK,
        U,
        _random(rng, B, 4 * U),  # gates (holds h @ recurrent_kernel on entry)
        np.zeros((B, U), np.float32),
        np.zeros((B, U), np.float32),
        np.zeros((B, U), np.float32),
    ]
    _compare(kernels.lstm_forward_op, tmp_path_factory, args, outputs={5, 6, 7, 8})


def test_lstm_backward_body(tmp_path_factory):
    rng = np.random.default_rng(1)
    gates = 1.0 / (1.0 + np.exp(-_random(rng, B, 4 * U)))
    gates[:, 2 * U : 3 * U] = np.tanh(_random(rng, B, U))
    args = [
        gates.astype(np.float32),
        np.tanh(_random(rng, B, U)),
        _random(rng, B, U),  # c_prev
        MASK,
        _random(rng, B, U),  # dh
        _random(rng, B, U),  # dc
        U,
        np.zeros((B, 4 * U), np.float32),
        np.zeros((B, U), np.float32),
        np.zeros((B, U), np.float32),
    ]
    _compare(kernels.lstm_backward_op, tmp_path_factory, args, outputs={7, 8, 9})


def test_gru_forward_body(tmp_path_factory):
    rng = np.random.default_rng(2)
    args = [
        _random(rng, B, 3 * U),  # xw
        _random(rng, B, 3 * U),  # inner
        _random(rng, B, U),  # h_prev
        MASK,
        U,
        np.zeros((B, 3 * U), np.float32),
        np.zeros((B, U), np.float32),
    ]
    _compare(kernels.gru_forward_op, tmp_path_factory, args, outputs={5, 6})


def test_gru_backward_body(tmp_path_factory):
    rng = np.random.default_rng(3)
    gates = 1.0 / (1.0 + np.exp(-_random(rng, B, 3 * U)))
    gates[:, 2 * U :] = np.tanh(_random(rng, B, U))
    args = [
        gates.astype(np.float32),
        _random(rng, B, 3 * U),  # inner
        _random(rng, B, U),  # h_prev
        MASK,
        _random(rng, B, U),  # dh
        U,
        np.zeros((B, 3 * U), np.float32),
        np.zeros((B, 3 * U), np.float32),
        np.zeros((B, U), np.float32),
    ]
    _compare(kernels.gru_backward_op, tmp_path_factory, args, outputs={6, 7, 8})


def test_lstm_twins_give_the_same_result_in_column_major_buffers():
    rng = np.random.default_rng(2)
    unmasked = np.ones((B, 1), np.float32)
    for m in (MASK, unmasked):
        outputs = [np.zeros((B, U), np.float32) for _ in range(3)]
        forward = [_random(rng, B, 4 * U), _random(rng, B, U), _random(rng, B, U), m, U,
                   _random(rng, B, 4 * U), *outputs]  # fmt: skip
        fortran = [np.asfortranarray(a) if isinstance(a, np.ndarray) else a for a in forward]
        kernels.lstm_forward_op.numpy_twin(*forward)
        kernels.lstm_forward_op.numpy_twin(*fortran)
        for c_array, f_array in zip(forward[5:], fortran[5:]):
            np.testing.assert_allclose(c_array, f_array, rtol=1e-6, atol=1e-7)
        gates, tanh_c = forward[5], forward[8]
        backward = [gates, tanh_c, _random(rng, B, U), m, _random(rng, B, U), _random(rng, B, U),
                    U, np.zeros((B, 4 * U), np.float32), np.zeros((B, U), np.float32),
                    np.zeros((B, U), np.float32)]  # fmt: skip
        fortran = [np.asfortranarray(a) if isinstance(a, np.ndarray) else a for a in backward]
        kernels.lstm_backward_op.numpy_twin(*backward)
        kernels.lstm_backward_op.numpy_twin(*fortran)
        for c_array, f_array in zip(backward[7:], fortran[7:]):
            np.testing.assert_allclose(c_array, f_array, rtol=1e-6, atol=1e-7)
