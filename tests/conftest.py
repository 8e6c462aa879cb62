"""Shared fixtures: every test body runs on NumPy, and on CuPy where a GPU exists."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("GPUKERAS_BACKEND", "numpy")

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


@pytest.fixture(autouse=True)
def _fresh_seed():
    """Each test starts from the same random state and fresh layer names."""
    K.random.seed(1234)
    np.random.seed(1234)
    yield
