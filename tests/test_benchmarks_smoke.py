"""The benchmark scripts still run: tiny sizes, peers skipped, nothing timed or compared.

Speed is judged by running the benchmarks (docs/performance.md), never by tests; these only
keep the scripts from rotting between those runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GPU_AVAILABLE

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "GPUKERAS_KERAS_PYTHON": ""}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_mlp_benchmark_prints_gpukeras_against_the_numpy_loop_and_the_blas_bound():
    out = _run(
        "bench_mlp.py", "--samples", "512", "--batch-sizes", "128", "--repeats", "1",
        "--rounds", "1", "--skip", "pytorch", "keras 3 / jax",
    )  # fmt: skip
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert rows["gpukeras"].split()[-1] == "1"  # one host sync per epoch
    assert "numpy" in rows and "BLAS" in rows
    assert "skipped: --skip" in out


def test_custom_benchmark_prints_functional_subclassed_and_custom_loss_against_sequential():
    out = _run(
        "bench_custom.py", "--samples", "256", "--batch-sizes", "128", "--repeats", "1",
        "--rounds", "1",
    )  # fmt: skip
    rows = {line[:18].strip(): line.split() for line in out.splitlines() if line.startswith("  ")}
    assert set(rows) >= {"sequential", "functional", "subclassed", "two outputs", "custom loss"}
    for name in ("sequential", "functional", "subclassed", "two outputs", "custom loss"):
        assert rows[name][-1] == "1"  # one host sync per epoch


def test_convnet_benchmark_runs_gpukeras_alone():
    out = _run("bench_cnn.py", "--steps", "2", "--repeats", "1", "--skip", "torch", "keras")
    assert "gpukeras (numpy)" in out and "s/epoch" in out


@pytest.mark.skipif(GPU_AVAILABLE, reason="checks the behaviour without a GPU")
def test_gpu_benchmark_without_a_gpu_says_why_and_exits_cleanly():
    out = _run(
        "bench_gpu.py", "--samples", "256", "--batch-sizes", "128", "--repeats", "1",
        "--modes", "float32",
    )  # fmt: skip
    assert "gpukeras   skipped: failed (RuntimeError: GPUKERAS_BACKEND='cupy'" in out


@pytest.mark.skipif(
    not (BENCHMARKS.parent / ".git").exists(), reason="needs a git checkout to export HEAD"
)
def test_commit_benchmark_compares_the_working_tree_with_a_commit():
    out = _run(
        "bench_commits.py", "--base", "HEAD", "--samples", "128", "--repeats", "1",
        "--rounds", "1", "--workloads", "mlp", "subclassed",
    )  # fmt: skip
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert set(rows) == {"mlp", "subclassed"}
    assert rows["mlp"][4] == "1/1" and rows["subclassed"][4] == "1/1"  # one sync per epoch
