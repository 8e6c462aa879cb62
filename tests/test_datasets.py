"""gpukeras.datasets: the shipped digits, and the image / tabular loaders served locally.

Every download goes to a server on 127.0.0.1 (tests/local_http.py) holding small
files made here in Keras's formats; the loaders' ORIGIN / FILE_HASH constants
are pointed at it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from gpukeras.datasets import (
    boston_housing,
    cifar10,
    cifar100,
    digits,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
from tests import local_http

home = local_http.home
site = local_http.site


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def serve_for(monkeypatch, site, module, body: bytes, name: str) -> str:
    """Serve ``body`` and point ``module``'s ORIGIN and FILE_HASH at it."""
    url = site.add(f"/ds/{name}", body)
    monkeypatch.setattr(module, "ORIGIN", url)
    monkeypatch.setattr(module, "FILE_HASH", sha256(body))
    return url


# -- digits (shipped) ---------------------------------------------------------------------
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


# -- Keras's sources and digests ------------------------------------------------------------
KERAS_BUCKET = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def test_sources_and_digests_are_keras_3s():
    assert mnist.ORIGIN == KERAS_BUCKET + "mnist.npz"
    assert mnist.FILE_HASH == "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    assert cifar10.ORIGIN == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar10.FILE_HASH.startswith("6d958be074577803d12ecdefd02955f3")
    assert cifar100.ORIGIN == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert cifar100.FILE_HASH.startswith("85cd44d02ba6437773c5bbd22e183051")
    assert imdb.ORIGIN == KERAS_BUCKET + "imdb.npz"
    assert imdb.FILE_HASH.startswith("69664113be75683a8fe16e3ed0ab59fd")
    assert imdb.WORD_INDEX_HASH == "bfafd718b763782e994055a2d397834f"
    assert reuters.ORIGIN == KERAS_BUCKET + "reuters.npz"
    assert reuters.FILE_HASH.startswith("d6586e694ee56d7a4e65172e12b3e987")
    assert reuters.WORD_INDEX_HASH == "4d44cc38712099c9e383dc6e5f11a921"
    assert boston_housing.ORIGIN == KERAS_BUCKET + "boston_housing.npz"
    assert boston_housing.FILE_HASH.startswith("f553886a1f8d56431e820c5b82552d9d")
    assert fashion_mnist.BASE_URL == KERAS_BUCKET
    assert len(fashion_mnist.FILE_HASHES) == 4
    assert all(len(digest) == 64 for digest in fashion_mnist.FILE_HASHES.values())


# -- mnist ----------------------------------------------------------------------------------
def fake_mnist(**overrides) -> bytes:
    arrays = {
        "x_train": np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28),
        "y_train": np.array([3, 7], dtype=np.uint8),
        "x_test": np.zeros((1, 28, 28), dtype=np.uint8),
        "y_test": np.array([1], dtype=np.uint8),
    }
    arrays.update(overrides)
    return npz_bytes(**{k: v for k, v in arrays.items() if v is not None})


def test_mnist_downloads_once_and_loads(home, site, monkeypatch):
    serve_for(monkeypatch, site, mnist, fake_mnist(), "mnist.npz")
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (2, 28, 28) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(y_train, [3, 7])
    assert x_test.shape == (1, 28, 28) and y_test.tolist() == [1]
    assert (home / "datasets" / "mnist.npz").is_file()
    mnist.load_data()
    assert site.hits["/ds/mnist.npz"] == 1


def test_mnist_data_dir_env_var(home, site, monkeypatch, tmp_path):
    monkeypatch.setenv("GPUKERAS_DATA_DIR", str(tmp_path / "data"))
    serve_for(monkeypatch, site, mnist, fake_mnist(), "mnist.npz")
    mnist.load_data()
    assert (tmp_path / "data" / "mnist.npz").is_file()


def test_mnist_reuses_a_valid_keras_copy_without_downloading(home, site, monkeypatch, tmp_path):
    body = fake_mnist()
    serve_for(monkeypatch, site, mnist, body, "mnist.npz")
    keras_datasets = tmp_path / "keras-home" / "datasets"  # KERAS_HOME set by `home`
    keras_datasets.mkdir(parents=True)
    (keras_datasets / "mnist.npz").write_bytes(body)
    (_, y_train), _ = mnist.load_data()
    assert y_train.tolist() == [3, 7] and site.hits["/ds/mnist.npz"] == 0


def test_mnist_ignores_a_keras_copy_with_the_wrong_hash(home, site, monkeypatch, tmp_path):
    serve_for(monkeypatch, site, mnist, fake_mnist(), "mnist.npz")
    keras_datasets = tmp_path / "keras-home" / "datasets"
    keras_datasets.mkdir(parents=True)
    (keras_datasets / "mnist.npz").write_bytes(fake_mnist(y_train=np.array([0, 0], np.uint8)))
    (_, y_train), _ = mnist.load_data()
    assert y_train.tolist() == [3, 7] and site.hits["/ds/mnist.npz"] == 1
    assert (keras_datasets / "mnist.npz").is_file()  # Keras's file is left alone


def test_mnist_offline_names_url_and_cache_path(home, monkeypatch):
    url = local_http.closed_port_url("/mnist.npz")
    monkeypatch.setattr(mnist, "ORIGIN", url)
    with pytest.raises(OSError) as info:
        mnist.load_data()
    assert url in str(info.value)
    assert str(home / "datasets" / "mnist.npz") in str(info.value)


def test_mnist_corrupt_cache_is_replaced(home, site, monkeypatch):
    serve_for(monkeypatch, site, mnist, fake_mnist(), "mnist.npz")
    (home / "datasets").mkdir(parents=True)
    (home / "datasets" / "mnist.npz").write_bytes(b"PK\x03\x04 truncated")
    (_, y_train), _ = mnist.load_data()
    assert y_train.tolist() == [3, 7] and site.hits["/ds/mnist.npz"] == 1


def test_mnist_absolute_path_is_read_as_given(home, tmp_path):
    own = tmp_path / "elsewhere.npz"
    own.write_bytes(fake_mnist())
    (_, y_train), _ = mnist.load_data(path=str(own))
    np.testing.assert_array_equal(y_train, [3, 7])
    with pytest.raises(FileNotFoundError, match="mnist.npz"):
        mnist.load_data(path=str(tmp_path / "missing.npz"))


def test_mnist_rejects_archive_without_its_arrays(home, site, monkeypatch):
    serve_for(monkeypatch, site, mnist, fake_mnist(y_test=None), "mnist.npz")
    with pytest.raises(ValueError, match="lacks y_test"):
        mnist.load_data()


def test_mnist_never_unpickles(home, site, monkeypatch):
    objects = np.array([{"a": 1}, None], dtype=object)
    serve_for(monkeypatch, site, mnist, fake_mnist(x_train=objects), "mnist.npz")
    with pytest.raises(ValueError, match=r"'x_train.npy' has dtype '\|O'; expected u1"):
        mnist.load_data()


# -- fashion_mnist --------------------------------------------------------------------------
def idx_gz(array: np.ndarray, magic: int | None = None) -> bytes:
    magic = magic if magic is not None else 0x0800 | array.ndim
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def serve_fashion(monkeypatch, site, files: dict[str, bytes]) -> None:
    for name, body in files.items():
        site.add(f"/fashion/{name}", body)
    monkeypatch.setattr(fashion_mnist, "BASE_URL", site.url("/fashion/"))
    monkeypatch.setattr(
        fashion_mnist, "FILE_HASHES", {name: sha256(body) for name, body in files.items()}
    )


def fashion_files(train_images=None) -> dict[str, bytes]:
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(3, 28, 28))
    return {
        "train-labels-idx1-ubyte.gz": idx_gz(np.array([9, 0, 4])),
        "train-images-idx3-ubyte.gz": train_images or idx_gz(images),
        "t10k-labels-idx1-ubyte.gz": idx_gz(np.array([5])),
        "t10k-images-idx3-ubyte.gz": idx_gz(images[:1]),
    }


def test_fashion_mnist_reads_idx_files(home, site, monkeypatch):
    files = fashion_files()
    serve_fashion(monkeypatch, site, files)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (3, 28, 28) and x_train.dtype == np.uint8
    assert y_train.tolist() == [9, 0, 4] and y_test.tolist() == [5]
    expected = np.random.RandomState(0).randint(0, 256, size=(3, 28, 28)).astype(np.uint8)
    np.testing.assert_array_equal(x_train, expected)
    np.testing.assert_array_equal(x_test, expected[:1])
    assert (home / "datasets" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_fashion_mnist_rejects_a_file_of_the_wrong_kind(home, site, monkeypatch):
    wrong = idx_gz(np.zeros((3, 28, 28)), magic=0x0801)  # says "labels"
    serve_fashion(monkeypatch, site, fashion_files(train_images=wrong))
    with pytest.raises(ValueError, match="magic"):
        fashion_mnist.load_data()


# -- cifar ----------------------------------------------------------------------------------
def cifar_pickle(count: int, first_label: int, label_keys=("labels",)) -> bytes:
    """A batch as CIFAR's Python 2 pickles hold it: bytes keys, (n, 3072) uint8 data."""
    data = (np.arange(count * 3072) % 251).astype(np.uint8).reshape(count, 3072)
    data[:, 0] = first_label  # tells the images apart after concatenation
    batch = {b"batch_label": b"testing", b"data": data, b"filenames": [b"x.png"] * count}
    for offset, key in enumerate(label_keys):
        batch[key.encode()] = [first_label + offset + i for i in range(count)]
    # Protocol 2 as in the real (Python 2) files would need `_codecs.encode` for bytes
    # written by Python 3, which the restricted unpickler refuses; 4 has bytes opcodes.
    return pickle.dumps(batch, protocol=4)


def tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def cifar10_tarball(test_batch: bytes | None = None) -> bytes:
    members = {f"cifar-10-batches-py/data_batch_{i}": cifar_pickle(2, 10 * i) for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = test_batch or cifar_pickle(3, 90)
    return tarball(members)


def test_cifar10_extracts_and_reads_the_batches(home, site, monkeypatch):
    serve_for(monkeypatch, site, cifar10, cifar10_tarball(), "cifar-10-python.tar.gz")
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert y_train.shape == (10, 1) and y_test.shape == (3, 1)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert y_train[:, 0].tolist() == [10, 11, 20, 21, 30, 31, 40, 41, 50, 51]
    # Channels last: pixel (row r, column c) of channel ch is data[ch * 1024 + r * 32 + c].
    flat = (np.arange(3072) % 251).astype(np.uint8)
    flat[0] = 90
    np.testing.assert_array_equal(x_test[0], flat.reshape(3, 32, 32).transpose(1, 2, 0))
    assert (home / "datasets" / "cifar-10-batches-py-target_archive").is_file()
    cifar10.load_data()
    assert site.hits["/ds/cifar-10-python.tar.gz"] == 1


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_cifar_pickles_cannot_run_code(home, site, monkeypatch, tmp_path):
    proof = tmp_path / "code-ran"
    evil = pickle.dumps({b"data": _Payload(str(proof)), b"labels": [1]}, protocol=4)
    serve_for(monkeypatch, site, cifar10, cifar10_tarball(test_batch=evil), "c.tar.gz")
    with pytest.raises(ValueError, match=r"Refusing to load `(io|builtins)\.open`"):
        cifar10.load_data()
    assert not proof.exists()


def test_cifar100_label_modes(home, site, monkeypatch):
    keys = ("fine_labels", "coarse_labels")
    body = tarball(
        {
            "cifar-100-python/train": cifar_pickle(4, 40, keys),
            "cifar-100-python/test": cifar_pickle(2, 7, keys),
        }
    )
    serve_for(monkeypatch, site, cifar100, body, "cifar-100-python.tar.gz")
    (x_train, y_fine), (x_test, y_fine_test) = cifar100.load_data()
    assert x_train.shape == (4, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    assert y_fine[:, 0].tolist() == [40, 41, 42, 43] and y_fine_test[:, 0].tolist() == [7, 8]
    (_, y_coarse), _ = cifar100.load_data(label_mode="coarse")
    assert y_coarse[:, 0].tolist() == [41, 42, 43, 44]
    assert site.hits["/ds/cifar-100-python.tar.gz"] == 1


def test_cifar100_rejects_bad_label_mode():
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


def test_cifar_archive_missing_a_batch(home, site, monkeypatch):
    body = tarball({"cifar-10-batches-py/data_batch_1": cifar_pickle(1, 0)})
    serve_for(monkeypatch, site, cifar10, body, "c.tar.gz")
    with pytest.raises(ValueError, match="lacks data_batch_2"):
        cifar10.load_data()


# -- boston_housing -------------------------------------------------------------------------
def test_boston_housing_split(home, site, monkeypatch):
    x = np.arange(10 * 13, dtype=np.float64).reshape(10, 13)
    y = np.arange(10, dtype=np.float64)
    serve_for(monkeypatch, site, boston_housing, npz_bytes(x=x, y=y), "boston_housing.npz")
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data()
    assert x_train.shape == (8, 13) and x_test.shape == (2, 13) and y_test.shape == (2,)
    np.testing.assert_array_equal(x_train[:, 0] / 13, y_train)  # rows stay with their targets
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))


@pytest.mark.parametrize("test_split", [-0.1, 1.0])
def test_boston_housing_rejects_bad_test_split(test_split):
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=test_split)


def test_no_partial_files_are_left_after_a_failed_download(home, site, monkeypatch):
    url = serve_for(monkeypatch, site, mnist, fake_mnist(), "mnist.npz")
    site.truncated.add(url.replace(site.base_url, ""))
    with pytest.raises(OSError, match="closed"):
        mnist.load_data()
    assert os.listdir(home / "datasets") == []
