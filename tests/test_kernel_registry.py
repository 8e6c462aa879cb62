"""The kernel registry lists every CUDA kernel gpukeras defines, each optimizer variant too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gpukeras.backend.kernels import ElementwiseOp, _registry
from gpukeras.backend.kernels import optimizers as optimizer_kernels

PACKAGE = Path(__file__).resolve().parents[1] / "gpukeras"
#: CuPy kernel constructors: only the registering classes may call them.
_RAW_CUPY_KERNELS = re.compile(
    r"\b(ElementwiseKernel|ReductionKernel|RawKernel|RawModule)\(|\bfuse\("
)


def test_every_optimizer_variant_is_registered():
    names = {kernel.name for kernel in _registry.all_kernels()}
    expected = {
        "sgd", "sgd_momentum", "sgd_nesterov", "adam_plain", "adam_amsgrad", "adamax", "nadam",
        "adagrad", "adadelta", "ema", "rmsprop_plain_nomom", "rmsprop_plain_momentum",
        "rmsprop_centered_nomom", "rmsprop_centered_momentum",
    }  # fmt: skip
    assert expected <= names


def test_every_module_that_builds_a_kernel_contributes_to_the_registry():
    modules = {kernel_module for kernel_module in _registry.kernel_modules()}
    assert "gpukeras.activations" in modules  # erfc lives outside backend/kernels
    kernels = _registry.all_kernels()
    assert len(kernels) >= 32
    assert {kernel.kind for kernel in kernels} == {"elementwise", "reduction"}


def test_no_cupy_kernel_is_built_outside_the_registering_classes():
    allowed = {"_op.py", "_reduction.py"}
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name not in allowed and _RAW_CUPY_KERNELS.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_kernels_built_outside_gpukeras_are_not_listed():
    ElementwiseOp("made_in_a_test", "T x", "T y", "y = x;", None)
    assert "made_in_a_test" not in {kernel.name for kernel in _registry.all_kernels()}


def test_two_different_kernels_with_one_name_are_refused():
    sgd = optimizer_kernels.sgd_op(False, False)
    impostor = ElementwiseOp("made_in_a_test_2", "T x", "T y", "y = x;", None)
    impostor.name = sgd.name
    with pytest.raises(ValueError, match="Two different CUDA kernels are named 'sgd'"):
        _registry.register(impostor, "gpukeras.somewhere")


def test_placeholders_are_read_from_the_parameter_lists():
    assert _registry.placeholders("raw T x, int32 n, S y", "T z") == ["T", "S"]
