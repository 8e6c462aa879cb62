"""Backend selection, host-sync counting and dtype settings."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras.backend import _select


@pytest.fixture
def fresh_selection(monkeypatch):
    """Forget the current choice so the next call selects again; restore it after."""
    saved = dict(_select._active)
    _select._active.update(name=None, xp=None)
    yield monkeypatch
    _select._active.update(saved)


def _fake_cupy(device_count):
    cupy = types.ModuleType("cupy")
    runtime = types.SimpleNamespace()
    if isinstance(device_count, Exception):

        def count():
            raise device_count
    else:

        def count():
            return device_count

    runtime.getDeviceCount = count
    cupy.cuda = types.SimpleNamespace(runtime=runtime)
    return cupy


def test_numpy_is_used_when_requested(fresh_selection):
    fresh_selection.setenv("GPUKERAS_BACKEND", "numpy")
    assert K.backend() == "numpy" and K.array_module() is np


@pytest.mark.parametrize("value", ["auto", "", "AUTO "])
def test_auto_without_cupy_falls_back_to_numpy(fresh_selection, value):
    fresh_selection.setenv("GPUKERAS_BACKEND", value)
    fresh_selection.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail
    assert K.backend() == "numpy"


@pytest.mark.parametrize("failure", [0, RuntimeError("cudaErrorNoDevice"), OSError("libcuda")])
def test_auto_with_cupy_but_no_device_falls_back_to_numpy(fresh_selection, failure):
    fresh_selection.setenv("GPUKERAS_BACKEND", "auto")
    fresh_selection.setitem(sys.modules, "cupy", _fake_cupy(failure))
    assert K.backend() == "numpy"


def test_auto_with_a_device_picks_cupy(fresh_selection):
    fake = _fake_cupy(1)
    fresh_selection.setenv("GPUKERAS_BACKEND", "auto")
    fresh_selection.setitem(sys.modules, "cupy", fake)
    assert K.backend() == "cupy" and K.array_module() is fake


def test_forcing_cupy_without_a_gpu_says_why(fresh_selection):
    fresh_selection.setenv("GPUKERAS_BACKEND", "cupy")
    fresh_selection.setitem(sys.modules, "cupy", _fake_cupy(RuntimeError("no CUDA driver")))
    with pytest.raises(RuntimeError, match="CuPy cannot be used.*no CUDA driver.*numpy"):
        K.backend()


def test_forcing_cupy_when_it_is_not_installed(fresh_selection):
    fresh_selection.setenv("GPUKERAS_BACKEND", "cupy")
    fresh_selection.setitem(sys.modules, "cupy", None)
    with pytest.raises(RuntimeError, match="import cupy"):
        K.backend()


def test_unknown_backend_names_value_and_choices(fresh_selection):
    fresh_selection.setenv("GPUKERAS_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="'auto', 'numpy', 'cupy'.*GPUKERAS_BACKEND='tensorflow'"):
        K.backend()


def test_to_host_counts_every_transfer(xp):
    before = K.host_syncs()
    values = K.to_host_floats([xp.float32(1.5), xp.asarray(2.0), xp.ones(()) * 3])
    assert values == [1.5, 2.0, 3.0] and K.host_syncs() == before + 1
    K.to_host(xp.ones(3))
    assert K.host_syncs() == before + 2


def test_to_device_keeps_arrays_of_the_right_type(xp):
    array = xp.ones(3, dtype=xp.float32)
    assert K.to_device(array) is array
    assert K.to_device([1, 2], dtype="float32").dtype == np.float32


def test_floatx_defaults_to_float32_and_rejects_unknown_types():
    assert K.floatx() == "float32" and K.epsilon() == 1e-7
    with pytest.raises(ValueError, match="Received: dtype='int8'"):
        K.set_floatx("int8")
    K.set_floatx("float64")
    try:
        assert K.floatx() == "float64"
    finally:
        K.set_floatx("float32")


def test_random_seed_reproduces_both_streams(xp):
    K.random.seed(5)
    first = (K.random.host_generator().random(3), K.to_host(K.random.permutation(10)))
    K.random.seed(5)
    second = (K.random.host_generator().random(3), K.to_host(K.random.permutation(10)))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_no_module_outside_the_backend_imports_cupy():
    import pathlib
    import re

    root = pathlib.Path(K.__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "backend" not in path.relative_to(root).parts
        and re.search(r"^\s*(import cupy|from cupy)", path.read_text(), re.M)
    ]
    assert offenders == []
