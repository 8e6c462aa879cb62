"""Every CUDA kernel gpukeras defines compiles with NVRTC for sm_80 and sm_90, in float16,
bfloat16, float32 and float64: no GPU needed, only CuPy, NVRTC and the CUDA headers
(``pip install -e '.[cuda-check]'``, a CI step). Without them the tests skip and say why,
unless GPUKERAS_REQUIRE_NVRTC=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from gpukeras.backend.kernels import ElementwiseOp, _cuda_check, _registry

REQUIRE_ENV_VAR = "GPUKERAS_REQUIRE_NVRTC"
DTYPES = ("float16", "bfloat16", "float32", "float64")
KERNELS = _registry.all_kernels()


def _dtype(name: str):
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            _unavailable("bfloat16 needs the ml_dtypes package (in the cuda-check extra)")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV_VAR) == "1":
        pytest.fail(f"{REQUIRE_ENV_VAR}=1 but the CUDA compile check cannot run: {reason}")
    pytest.skip(f"CUDA compile check skipped: {reason}")


@pytest.fixture(scope="module")
def nvrtc():
    reason = _cuda_check.unavailable_reason()
    if reason is not None:
        _unavailable(reason)


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("kernel", KERNELS, ids=lambda kernel: kernel.name)
def test_kernel_compiles_for_every_architecture(nvrtc, kernel, dtype_name):
    for arch in _cuda_check.ARCHITECTURES:
        _cuda_check.compile_kernel(kernel, _dtype(dtype_name), arch)


def _throwaway_op(operation: str) -> ElementwiseOp:
    # Built in a test module, so the registry leaves it out of KERNELS.
    return ElementwiseOp("deliberately_broken", "T g, T m", "T u", operation, None)


def test_a_kernel_with_a_syntax_error_fails_the_check(nvrtc):
    broken = _throwaway_op("u = g +;")
    expected = "'deliberately_broken'.*float32.*sm_80"
    with pytest.raises(_cuda_check.KernelCompileError, match=expected):
        _cuda_check.compile_kernel(broken, np.dtype("float32"), 80)


def test_a_half_precision_only_defect_fails_the_check(nvrtc):
    # adamax's old body: fine in float32, an ambiguous ?: in float16 (-g is a float there).
    old_adamax = _throwaway_op("T magnitude = g < 0 ? -g : g; u = magnitude;")
    _cuda_check.compile_kernel(old_adamax, np.dtype("float32"), 80)
    with pytest.raises(_cuda_check.KernelCompileError, match='ambiguous "\\?" operation'):
        _cuda_check.compile_kernel(old_adamax, np.dtype("float16"), 80)


def test_a_bfloat16_compound_assignment_fails_the_check(nvrtc):
    # The optimizers' old weight decay: bfloat16 has no ``-=`` taking a float.
    old_decay = _throwaway_op("u = g; u -= u * m * m;")
    _cuda_check.compile_kernel(old_decay, np.dtype("float16"), 90)
    with pytest.raises(_cuda_check.KernelCompileError, match='no operator "-="'):
        _cuda_check.compile_kernel(old_decay, _dtype("bfloat16"), 90)


def test_the_squared_sum_accumulates_16_bit_inputs_in_float32(nvrtc):
    squared_sum = next(kernel for kernel in KERNELS if kernel.name == "squared_sum")
    source = _cuda_check.cuda_source(squared_sum, np.dtype("float16"))
    assert "typedef float S;" in source and "typedef S _type_reduce;" in source
