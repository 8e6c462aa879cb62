"""gpukeras.datasets: the shipped digits and the cached-only MNIST loader."""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras.datasets import digits, mnist


def test_digits_shapes_dtypes_and_values():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert x_train.max() == 16 and x_train.min() == 0
    assert set(np.unique(y_train)) == set(range(10))


def test_digits_split_is_deterministic_and_depends_on_seed():
    (a, ya), _ = digits.load_data(seed=3)
    (b, yb), _ = digits.load_data(seed=3)
    (c, _yc), _ = digits.load_data(seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)


def _sorted_rows(images):
    flat = images.reshape(len(images), -1)
    return flat[np.lexsort(flat.T[::-1])]


def test_digits_split_partitions_all_images():
    (x_train, _), (x_test, _) = digits.load_data(test_split=0.5)
    (everything, _), (none, _) = digits.load_data(test_split=0.0)
    assert (len(x_train), len(x_test), len(everything), len(none)) == (898, 899, 1797, 0)
    np.testing.assert_array_equal(
        _sorted_rows(np.concatenate([x_train, x_test])), _sorted_rows(everything)
    )


def test_digits_load_does_not_touch_global_random_state():
    before = np.random.get_state()[1].copy()
    digits.load_data()
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("test_split", [-0.1, 1.0, 2])
def test_digits_rejects_bad_test_split(test_split):
    with pytest.raises(ValueError, match="test_split"):
        digits.load_data(test_split=test_split)


def test_mnist_missing_names_url_and_place(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUKERAS_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in message
    assert str(tmp_path / "mnist.npz") in message


def _write_fake_mnist(path, **overrides):
    arrays = {
        "x_train": np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28),
        "y_train": np.array([3, 7], dtype=np.uint8),
        "x_test": np.zeros((1, 28, 28), dtype=np.uint8),
        "y_test": np.array([1], dtype=np.uint8),
    }
    arrays.update(overrides)
    np.savez_compressed(path, **{k: v for k, v in arrays.items() if v is not None})


def test_mnist_loads_a_cached_copy_from_data_dir(tmp_path, monkeypatch):
    _write_fake_mnist(tmp_path / "mnist.npz")
    monkeypatch.setenv("GPUKERAS_DATA_DIR", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (2, 28, 28) and x_test.shape == (1, 28, 28)
    np.testing.assert_array_equal(y_train, [3, 7])
    np.testing.assert_array_equal(y_test, [1])


def test_mnist_keras_cache_is_searched(tmp_path, monkeypatch):
    monkeypatch.delenv("GPUKERAS_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    (tmp_path / ".keras" / "datasets").mkdir(parents=True)
    _write_fake_mnist(tmp_path / ".keras" / "datasets" / "mnist.npz")
    (x_train, _), _ = mnist.load_data()
    assert x_train.shape == (2, 28, 28)


def test_mnist_absolute_path(tmp_path):
    _write_fake_mnist(tmp_path / "elsewhere.npz")
    (_, y_train), _ = mnist.load_data(path=str(tmp_path / "elsewhere.npz"))
    np.testing.assert_array_equal(y_train, [3, 7])


def test_mnist_rejects_archive_without_its_arrays(tmp_path, monkeypatch):
    _write_fake_mnist(tmp_path / "mnist.npz", y_test=None)
    monkeypatch.setenv("GPUKERAS_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="lacks y_test"):
        mnist.load_data()
