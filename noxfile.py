"""Developer sessions: `nox -s tests`, `nox -s lint`, `nox -s gpu`, `nox -s cuda_check`,
`nox -s standin`, `nox -s keras-suite`, `nox -s bench`, `nox -s gpu_check`, `nox -s docs`.

`nox` alone runs tests and lint. The gpu session needs a machine with an NVIDIA GPU and a
CUDA driver; it installs CuPy through the `gpu` extra (CUDA 12) or, with
GPUKERAS_GPU_EXTRA=cuda13, the `cuda13` extra.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True

BENCHMARK_SCRIPT = Path("benchmarks/run.py")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite on the NumPy backend (GPU tests skip without a GPU)."""
    session.install("-e", ".[test,mpi]")
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's lint rules and formatting, as configured in pyproject.toml."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def gpu(session: nox.Session) -> None:
    """benchmarks/gpu_check.py with CuPy installed: the whole suite on CuPy, mixed precision,
    NCCL, the GPU benchmark. Needs a CUDA GPU: without one it fails (exit 2)."""
    extra = os.environ.get("GPUKERAS_GPU_EXTRA", "gpu")
    session.install("-e", f".[test,mpi,bench,{extra}]", "ml_dtypes>=0.4")
    session.run("python", "benchmarks/gpu_check.py", *session.posargs)


@nox.session
def cuda_check(session: nox.Session) -> None:
    """Every CUDA kernel compiled with NVRTC for sm_80/sm_90 in four dtypes (no GPU needed)."""
    session.install("-e", ".[test,cuda-check]")
    session.run(
        "python", "-m", "pytest", "-q", "tests/test_cuda_compile.py", *session.posargs,
        env={"GPUKERAS_REQUIRE_NVRTC": "1"},
    )  # fmt: skip


@nox.session
def standin(session: nox.Session) -> None:
    """The whole suite on the CuPy backend over the strict CuPy stand-in (no GPU needed)."""
    session.install("-e", ".[test,mpi]", "ml_dtypes>=0.4")
    session.run(
        "python", "-m", "pytest", "-q", *session.posargs,
        env={"GPUKERAS_BACKEND": "cupy", "GPUKERAS_CUPY_STANDIN": "1"},
    )  # fmt: skip


@nox.session(name="keras-suite")
def keras_suite(session: nox.Session) -> None:
    """Keras 3.15's own callback and optimizer tests, read from its wheel, run against gpukeras
    through tests/keras_suite's import shim; prints the pass counts (callbacks, optimizers)."""
    session.install("-e", ".[test]", "keras==3.15.*", "absl-py", "requests")
    session.run("python", "tests/keras_suite/run.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """benchmarks/run.py: gpukeras vs its peers on one pinned core, one combined table.

    PyTorch comes from the `bench` extra; Keras 3 on JAX is measured when
    GPUKERAS_KERAS_PYTHON names a Python with keras and jax (else skipped with a message).
    """
    if not BENCHMARK_SCRIPT.is_file():
        session.skip(f"{BENCHMARK_SCRIPT} does not exist yet: there are no benchmarks to run")
    session.install("-e", ".[bench]")
    session.run("python", str(BENCHMARK_SCRIPT), *session.posargs)


@nox.session(venv_backend="none")
def gpu_check(session: nox.Session) -> None:
    """benchmarks/gpu_check.py in the current environment (no installs, no network)."""
    session.run("python", "benchmarks/gpu_check.py", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml, docs/) built with --strict into site/."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})
