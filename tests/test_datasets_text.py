"""IMDB, Reuters and Boston housing against what Keras 3 loads from the same tiny files.

tests/fixtures/make_dataset_fixtures.py made the files (in Keras's formats: ragged
sequences as pickled object arrays) and recorded Keras 3's ``load_data`` output
for several argument sets; here the same files are served from 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle

import numpy as np
import pytest

from gpukeras.datasets import boston_housing, imdb, reuters
from gpukeras.datasets._npz import load_npz
from tests import local_http

home = local_http.home
site = local_http.site

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "datasets")
with open(os.path.join(FIXTURES, "keras_loads.json")) as _stream:
    KERAS_LOADS = json.load(_stream)
MODULES = {"imdb": imdb, "reuters": reuters, "boston_housing": boston_housing}


def serve_file(monkeypatch, site, module, body: bytes, name: str) -> None:
    monkeypatch.setattr(module, "ORIGIN", site.add(f"/ds/{name}", body))
    monkeypatch.setattr(module, "FILE_HASH", hashlib.sha256(body).hexdigest())


def serve_fixture(monkeypatch, site, name: str) -> None:
    with open(os.path.join(FIXTURES, f"{name}.npz"), "rb") as stream:
        serve_file(monkeypatch, site, MODULES[name], stream.read(), f"{name}.npz")


def as_lists(array: np.ndarray) -> list:
    if array.dtype == object:
        return [list(map(int, x)) for x in array]
    return array.tolist()


CASES = [(name, i) for name, runs in KERAS_LOADS.items() for i in range(len(runs))]


@pytest.mark.parametrize("name, index", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_same_data_as_keras(home, site, monkeypatch, name, index):
    expected = KERAS_LOADS[name][index]
    serve_fixture(monkeypatch, site, name)
    (x_train, y_train), (x_test, y_test) = MODULES[name].load_data(**expected["kwargs"])
    assert as_lists(x_train) == expected["x_train"]
    assert y_train.tolist() == expected["y_train"]
    assert as_lists(x_test) == expected["x_test"]
    assert y_test.tolist() == expected["y_test"]
    assert [str(a.dtype) for a in (x_train, y_train, x_test, y_test)] == expected["dtypes"]
    if x_train.dtype == object:
        assert x_train.ndim == 1 and x_test.ndim == 1


def test_sequences_are_lists_of_python_ints(home, site, monkeypatch):
    serve_fixture(monkeypatch, site, "imdb")
    (x_train, _), _ = imdb.load_data()
    assert isinstance(x_train[0], list) and isinstance(x_train[0][0], int)


def test_imdb_maxlen_that_keeps_nothing(home, site, monkeypatch):
    serve_fixture(monkeypatch, site, "imdb")
    with pytest.raises(ValueError, match="maxlen=2"):
        imdb.load_data(maxlen=2)


def test_bad_argument_types_are_named(home):
    with pytest.raises(TypeError, match="num_words"):
        imdb.load_data(num_words=2.5)
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.5)


def test_word_index_and_label_names(home, site, monkeypatch):
    body = json.dumps({"the": 1, "movie": 2}).encode()
    monkeypatch.setattr(imdb, "WORD_INDEX_ORIGIN", site.add("/ds/imdb_word_index.json", body))
    monkeypatch.setattr(imdb, "WORD_INDEX_HASH", hashlib.md5(body).hexdigest())
    assert imdb.get_word_index() == {"the": 1, "movie": 2}
    assert (home / "datasets" / "imdb_word_index.json").is_file()
    monkeypatch.setattr(reuters, "WORD_INDEX_ORIGIN", site.add("/ds/reuters_wi.json", body))
    monkeypatch.setattr(reuters, "WORD_INDEX_HASH", hashlib.md5(body).hexdigest())
    assert reuters.get_word_index() == {"the": 1, "movie": 2}
    names = reuters.get_label_names()
    assert len(names) == 46 and names[:3] == ("cocoa", "grain", "veg-oil") and names[-1] == "lead"


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def evil_npz(proof_path: str) -> bytes:
    sequences = np.empty(2, dtype=object)
    sequences[0], sequences[1] = [1, 2], _Payload(proof_path)
    buffer = io.BytesIO()
    np.savez(buffer, x=sequences, y=np.array([0, 1]))
    return buffer.getvalue()


def test_a_tampered_npz_cannot_run_code(home, site, monkeypatch, tmp_path):
    proof = tmp_path / "code-ran"
    serve_file(monkeypatch, site, reuters, evil_npz(str(proof)), "reuters.npz")
    with pytest.raises(ValueError, match="Refusing to load"):
        reuters.load_data()
    assert not proof.exists()


def test_load_npz_reads_numeric_arrays_without_pickle(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.arange(3), b=np.ones((2, 2), np.float32))
    arrays = load_npz(str(path))
    np.testing.assert_array_equal(arrays["a"], [0, 1, 2])
    assert arrays["b"].dtype == np.float32


def test_load_npz_rejects_garbage(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_npz(str(path))


def test_numpy_1_module_names_are_accepted(tmp_path):
    # Keras's real files were written by NumPy 1 (`numpy.core.multiarray`).
    # Protocol 3 names globals as text lines (no length prefix), so the name can be swapped.
    stream = pickle.dumps(np.array([[1, 2], [3]], dtype=object), protocol=3)
    stream = stream.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray\n_reconstruct" in stream
    from gpukeras.datasets._safe_pickle import load_pickle

    restored = load_pickle(io.BytesIO(stream))
    assert restored.dtype == object and restored[1] == [3]
