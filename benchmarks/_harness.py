"""Shared helpers for the benchmarks: pinning, best-of-N timing, subprocess runs, ratios.

Import this module (and call :func:`pin`) before NumPy, PyTorch or JAX load their thread
pools: the thread-count variables are only read when a BLAS library starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pin(core: int | None = 0) -> None:
    """Run on one core with one BLAS/OpenMP/XLA thread (inherited by subprocesses)."""
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)


def best_of(run: Callable[[], None], repeats: int) -> float:
    """The fastest of ``repeats`` wall-clock timings of ``run()`` in seconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def run_python(python: str, source: str, timeout: float = 900.0) -> dict | str:
    """Run ``source`` with another interpreter; its last stdout line is JSON.

    Returns the decoded dict, or a one-line reason why there is none (interpreter missing,
    import failure, crash) so the caller can print it and skip that framework.
    """
    if not os.path.exists(python):
        return f"{python} not found"
    try:
        result = subprocess.run(
            [python, "-c", source], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        error = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed ({error})"
    return json.loads(lines[-1])


def print_ratios(title: str, unit: str, results: dict[str, float | str], baseline: str) -> None:
    """A table of ``results`` (value, or a reason it is missing) with ratios to ``baseline``."""
    print(title)
    base = results.get(baseline)
    for name, value in results.items():
        if isinstance(value, str):
            print(f"  {name:<22} skipped: {value}")
            continue
        ratio = ""
        if isinstance(base, float) and name != baseline:
            ratio = f"  ({value / base:.2f}x the time of {baseline})"
        print(f"  {name:<22} {value:8.2f} {unit}{ratio}")
