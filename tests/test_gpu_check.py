"""The GPU check is honest: it refuses to pass without a GPU, and a skipped gpu test fails it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GPU_AVAILABLE, STANDIN_ENV_VAR

REPO = Path(__file__).resolve().parents[1]
#: A gpu-marked test (the CuPy variant of a backend-parametrized one).
GPU_TEST = "tests/test_optimizers.py::test_setting_learning_rate_between_steps_takes_effect[cupy]"


def _without_gpu_env(**extra: str) -> dict[str, str]:
    """This process's environment minus the stand-in: CuPy finds no device here."""
    env = {**os.environ, "GPUKERAS_BACKEND": "numpy", "PYTHONPATH": str(REPO), **extra}
    env.pop(STANDIN_ENV_VAR, None)
    return env


def _real_gpu_here() -> bool:
    return GPU_AVAILABLE and os.environ.get(STANDIN_ENV_VAR) != "1"


@pytest.mark.skipif(_real_gpu_here(), reason="a CUDA device is visible: the check would run")
def test_gpu_check_fails_loudly_without_a_cuda_device():
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py")],
        capture_output=True, text=True, env=_without_gpu_env(), cwd=REPO, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "gpu_check FAILED: no CUDA device is visible" in result.stderr


@pytest.mark.skipif(_real_gpu_here(), reason="a CUDA device is visible: the gpu test would run")
@pytest.mark.parametrize(("required", "expected_code"), [("0", 0), ("1", 1)])
def test_a_skipped_gpu_test_fails_only_when_a_gpu_is_required(required, expected_code):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", GPU_TEST],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env=_without_gpu_env(GPUKERAS_REQUIRE_GPU=required),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == expected_code, output
    if required == "1":
        assert "a gpu test was skipped on a GPU machine" in output, output
