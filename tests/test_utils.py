"""gpukeras.utils: to_categorical, normalize, set_random_seed, clear_session."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import utils


def _host(a):
    return K.to_host(a) if K.is_device_array(a) else np.asarray(a)


def test_to_categorical_one_hot_rows(xp):
    labels = xp.asarray([0, 2, 1, 2])
    one_hot = utils.to_categorical(labels)
    assert K.get_array_module(one_hot) is xp
    np.testing.assert_array_equal(_host(one_hot), [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]])
    assert one_hot.dtype == np.float32


def test_to_categorical_num_classes_and_dtype():
    one_hot = utils.to_categorical([1, 3], num_classes=5, dtype="float64")
    assert one_hot.shape == (2, 5) and one_hot.dtype == np.float64
    np.testing.assert_array_equal(one_hot.argmax(axis=-1), [1, 3])
    assert utils.to_categorical([1], num_classes=np.int64(3)).shape == (1, 3)


@pytest.mark.parametrize(
    "shape, expected",
    [((6, 1), (6, 4)), ((6,), (6, 4)), ((2, 3), (2, 3, 4)), ((1,), (1, 4)), ((), (4,))],
)
def test_to_categorical_shapes_follow_keras(shape, expected):
    labels = (np.arange(int(np.prod(shape))) % 4).reshape(shape)
    assert utils.to_categorical(labels, num_classes=4).shape == expected


def test_to_categorical_column_of_labels_matches_flat_labels():
    flat = np.array([3, 0, 1])
    np.testing.assert_array_equal(utils.to_categorical(flat[:, None]), utils.to_categorical(flat))


def test_to_categorical_float_labels_that_are_whole_numbers():
    np.testing.assert_array_equal(utils.to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


@pytest.mark.parametrize(
    "labels, num_classes, message",
    [
        ([0, -1, 2], None, "label of -1"),
        ([0, 5, 2], 3, "label of 5"),
        ([0, 3], 3, "num_classes=3"),
        ([0.5, 1.0], None, "integer class labels"),
        ([0, 1], 0, "num_classes=0"),
        (["a"], None, "integer class labels"),
    ],
)
def test_to_categorical_rejects_bad_labels_naming_the_value(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        utils.to_categorical(labels, num_classes=num_classes)


def test_normalize_unit_rows_and_zero_rows(xp):
    x = xp.asarray([[3.0, 4.0], [0.0, 0.0]], dtype="float32")
    out = utils.normalize(x)
    assert K.get_array_module(out) is xp and out.dtype == np.float32
    np.testing.assert_allclose(_host(out), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)


def test_normalize_axis_and_order_preserve_float64():
    x = np.array([[3.0, 4.0], [1.0, 0.0]])
    out = utils.normalize(x, axis=0, order=1)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [[0.75, 1.0], [0.25, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, axis=None), utils.normalize(x, axis=-1))


def test_normalize_integer_input_becomes_floatx():
    out = utils.normalize(np.array([[0, 5]]))
    assert out.dtype == np.dtype(K.floatx())
    np.testing.assert_allclose(out, [[0.0, 1.0]])


def _draws():
    return (
        random.random(),
        float(np.random.rand()),
        K.random.host_generator().normal(size=3).tolist(),
        _host(K.random.permutation(10)).tolist(),
        _host(K.random.uniform((4,))).tolist(),
    )


def test_set_random_seed_makes_every_stream_repeat(backend_name):
    utils.set_random_seed(7)
    first = _draws()
    utils.set_random_seed(7)
    assert _draws() == first
    utils.set_random_seed(8)
    assert all(a != b for a, b in zip(_draws(), first, strict=True))


@pytest.mark.parametrize("seed", [-1, 1.5, "3", None, True])
def test_set_random_seed_rejects_non_integers(seed):
    with pytest.raises(ValueError, match="seed"):
        utils.set_random_seed(seed)


def test_set_random_seed_accepts_seeds_beyond_numpy_legacy_range():
    utils.set_random_seed(2**40)


def test_clear_session_restarts_default_names():
    from gpukeras import _naming

    _naming.unique_name("dense")
    assert _naming.unique_name("dense") != "dense"
    utils.clear_session()
    assert _naming.unique_name("dense") == "dense"
