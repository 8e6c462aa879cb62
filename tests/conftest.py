"""Shared fixtures: every test body runs on NumPy, and on CuPy where a GPU exists."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("GPUKERAS_BACKEND", "numpy")
#: ``GPUKERAS_CUPY_STANDIN=1`` puts the strict CuPy stand-in (tests/standin/cupy) first on the
#: path, here and in subprocesses, so ``GPUKERAS_BACKEND=cupy`` runs without a GPU.
STANDIN_ENV_VAR = "GPUKERAS_CUPY_STANDIN"
if os.environ.get(STANDIN_ENV_VAR) == "1":
    _standin = str(Path(__file__).resolve().parent / "standin")
    sys.path.insert(0, _standin)
    _paths = [_standin, os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(path for path in _paths if path)

from gpukeras import backend as K  # noqa: E402
from gpukeras.backend._select import _probe_cupy  # noqa: E402


def _gpu_available() -> bool:
    cupy, _ = _probe_cupy()
    return cupy is not None


GPU_AVAILABLE = _gpu_available()


@pytest.fixture(
    params=["numpy", pytest.param("cupy", marks=pytest.mark.gpu)],
)
def backend_name(request):
    """Run the test on each backend; CuPy is skipped without a usable GPU."""
    name = request.param
    if name == "cupy" and not GPU_AVAILABLE:
        pytest.skip("CuPy backend needs a CUDA GPU")
    previous = K.backend()
    K.set_backend(name)
    yield name
    K.set_backend(previous)


@pytest.fixture
def xp(backend_name):
    """The array module of the backend under test."""
    return K.array_module()


#: The backend the run asked for (GPUKERAS_BACKEND at start-up).
SESSION_BACKEND = os.environ["GPUKERAS_BACKEND"]


@pytest.fixture(autouse=True)
def _session_backend_after_each_test(request):
    """``@pytest.mark.numpy_only(reason)`` tests run on NumPy whatever the run's backend; and
    tests that switch to NumPy must not leave the rest of a CuPy run on NumPy."""
    if request.node.get_closest_marker("numpy_only") is not None:
        K.set_backend("numpy")
    yield
    if K.backend() != SESSION_BACKEND and SESSION_BACKEND in ("numpy", "cupy"):
        K.set_backend(SESSION_BACKEND)


@pytest.fixture(autouse=True)
def _fresh_seed():
    """Each test starts from the same random state and fresh layer names."""
    K.random.seed(1234)
    np.random.seed(1234)
    yield


#: Set by benchmarks/gpu_check.py: on a GPU machine a skipped ``gpu`` test is a failure.
REQUIRE_GPU_ENV_VAR = "GPUKERAS_REQUIRE_GPU"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get(REQUIRE_GPU_ENV_VAR) == "1"
        and item.get_closest_marker("gpu") is not None
    ):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"{REQUIRE_GPU_ENV_VAR}=1: a gpu test was skipped on a GPU machine ({reason})"
        )


@pytest.fixture
def custom_object_registry():
    """``saving.get_custom_objects()``, with the registry as it was restored after the test
    (registering a class is global state)."""
    from gpukeras import _custom_objects

    live = (_custom_objects._REGISTERED, _custom_objects._REGISTERED_NAMES)
    saved = [dict(table) for table in live]
    yield _custom_objects.get_custom_objects()
    for table, before in zip(live, saved, strict=True):
        table.clear()
        table.update(before)
