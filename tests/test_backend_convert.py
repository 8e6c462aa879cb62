"""backend.convert_to_tensor and backend.name_scope (Keras's backend entry points)."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K


def test_python_values_take_keras_default_dtypes(backend_name, xp):
    floats = K.convert_to_tensor([[1.0, 2.0]])
    ints = K.convert_to_tensor([1, 2])
    assert isinstance(floats, xp.ndarray) and floats.dtype == np.float32
    assert ints.dtype == np.int32
    np.testing.assert_array_equal(K.to_host(floats), [[1.0, 2.0]])


def test_arrays_keep_their_dtype_unless_one_is_asked_for(backend_name):
    assert K.convert_to_tensor(np.zeros(2, np.float64)).dtype == np.float64
    assert K.convert_to_tensor(np.zeros(2, np.float64), dtype="float16").dtype == np.float16


def test_a_variable_gives_its_value(backend_name):
    variable = keras.Variable(np.array([1.5, 2.5], np.float32))
    np.testing.assert_array_equal(K.to_host(K.convert_to_tensor(variable)), [1.5, 2.5])


def test_sparse_is_refused_by_name():
    with pytest.raises(ValueError, match="Received: sparse=True"):
        K.convert_to_tensor([1.0], sparse=True)


def test_name_scopes_nest_and_close():
    assert K.current_path() == ""
    with K.name_scope("dense") as scope:
        assert scope.name == "dense"
        with K.name_scope("kernel"):
            assert K.current_path() == "dense/kernel"
        assert K.current_path() == "dense"
    assert K.current_path() == ""
    with pytest.raises(ValueError, match="Received: name=''"):
        K.name_scope("")
