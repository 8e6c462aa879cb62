"""Data set files built to crash, exhaust or hang the loaders are refused, naming the file.

The pointer cases run in a child process: on a regression NumPy would
dereference attacker bytes and kill the interpreter, which must fail one test,
not the whole run.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpukeras.datasets import imdb, mnist, reuters
from gpukeras.datasets._cifar import load_batch
from gpukeras.datasets._npz import load_npz
from gpukeras.datasets._safe_pickle import load_pickle


class _Forged:
    """Pickles as NumPy's array reduce would, with a state of our choosing."""

    def __init__(self, shape, dtype, data, claimed=(0,)):
        self.state = (1, shape, np.dtype(dtype), False, data)
        self.claimed = claimed

    def __reduce__(self):
        return (np._core.multiarray._reconstruct, (np.ndarray, self.claimed, b"b"), self.state)


def _npy(descr: str, shape: tuple, body: bytes = b"") -> bytes:
    stream = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(stream, header)
    return stream.getvalue() + body


def _npz(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name + ".npy", data)
    return buffer.getvalue()


def _in_child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- the pickle builds nothing ------------------------------------------------------------------
def test_an_object_array_of_raw_pointer_bytes_is_refused_in_a_cifar_batch(tmp_path):
    path = tmp_path / "data_batch_1"
    forged = _Forged((1,), "O", b"\x41" * 8)
    path.write_bytes(pickle.dumps({b"data": forged, b"labels": [1]}, protocol=3))
    assert len(pickle.dumps(forged, protocol=3)) < 200
    child = _in_child(f"""
        from gpukeras.datasets._cifar import load_batch
        try:
            load_batch({str(path)!r})
        except ValueError as error:
            print("refused:", error)
        """)
    assert child.returncode == 0, child.stderr  # a SIGSEGV is -11
    assert "refused:" in child.stdout and "data_batch_1" in child.stdout


def test_an_object_npz_member_of_raw_pointer_bytes_is_refused(tmp_path):
    path = tmp_path / "reuters.npz"
    forged = pickle.dumps(_Forged((2,), "O", b"\x41" * 16), protocol=3)
    path.write_bytes(_npz({"x": _npy("|O", (2,), forged), "y": _npy("<i8", (2,), bytes(16))}))
    child = _in_child(f"""
        from gpukeras.datasets import reuters
        try:
            reuters.load_data(path={str(path)!r})
        except ValueError as error:
            print("refused:", error)
        """)
    assert child.returncode == 0, child.stderr
    assert "refused:" in child.stdout and "reuters.npz" in child.stdout


def test_a_pickle_claiming_more_data_than_it_holds_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    forged = _Forged((10_000, 3072), "u1", b"", claimed=(10_000, 3072))
    path.write_bytes(pickle.dumps({b"data": forged, b"labels": [1]}, protocol=3))
    with pytest.raises(ValueError, match="data_batch_1.*needs 30720000 bytes"):
        load_batch(str(path))
    huge = _Forged((1_000_000, 3072), "u1", b"", claimed=(1_000_000, 3072))
    with pytest.raises(pickle.UnpicklingError, match="needs 3072000000 bytes"):
        load_pickle(io.BytesIO(pickle.dumps(huge, protocol=3)))


@pytest.mark.parametrize("dtype", ["V8", "S8", "M8[s]"])
def test_a_pickled_array_of_a_non_numeric_dtype_is_refused(dtype):
    stream = pickle.dumps(_Forged((1,), dtype, bytes(8)), protocol=3)
    with pytest.raises(pickle.UnpicklingError, match="dtype"):
        load_pickle(io.BytesIO(stream))


def test_a_real_array_pickle_is_rebuilt_by_us_with_the_same_values():
    array = np.arange(12, dtype=">i4").reshape(3, 4)
    for protocol in (3, 4):  # 2 needs `_codecs.encode` for Python 3 bytes: refused
        restored = load_pickle(io.BytesIO(pickle.dumps(array, protocol=protocol)))
        np.testing.assert_array_equal(restored, array)
        assert restored.dtype == array.dtype


# -- npz headers checked against the data set ---------------------------------------------------
def test_void_zero_itemsize_member_is_refused_at_once(tmp_path):
    path = tmp_path / "reuters.npz"
    path.write_bytes(_npz({"x": _npy("|V0", (10**7,)), "y": _npy("<i8", (10**7,))}))
    with pytest.raises(ValueError, match=r"reuters.npz.*'x.npy' has dtype '\|V0'"):
        reuters.load_data(path=str(path))


@pytest.mark.parametrize("descr", ["|V0", "|V8", "|O", "<U2", "|S0"])
def test_unexpected_dtypes_are_refused_in_every_npz(tmp_path, descr):
    path = tmp_path / "mnist.npz"
    path.write_bytes(_npz({"x_train": _npy(descr, (1, 28, 28))}))
    with pytest.raises(ValueError, match=r"mnist.npz.*'x_train.npy' has dtype"):
        mnist.load_data(path=str(path))
    if descr != "|O":  # without a spec an object array may hold plain values
        with pytest.raises(ValueError, match="has dtype"):
            load_npz(str(path))


def test_a_shape_that_is_not_the_data_sets_is_refused_before_reading(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(_npz({"x_train": _npy("|u1", (200_000, 28, 28))}))
    with pytest.raises(ValueError, match="200000 rows; the data set has 60000"):
        mnist.load_data(path=str(path))


def _bomb_member(name: str, header: bytes, zeros: int, compression: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        with archive.open(name + ".npy", "w", force_zip64=True) as member:
            member.write(header)
            for _ in range(zeros >> 20):
                member.write(bytes(1 << 20))
    return buffer.getvalue()


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2])
def test_npz_decompression_bombs_are_refused_before_inflating(tmp_path, compression):
    path = tmp_path / "imdb.npz"
    header = _npy("<i8", (4 << 20,))  # y_train: 32 MiB of int64 labels
    data = _bomb_member("y_train", header, 32 << 20, compression)
    assert len(data) < 300_000
    path.write_bytes(data)
    with pytest.raises(ValueError, match=r"imdb.npz.*'y_train.npy' inflates from"):
        imdb.load_data(path=str(path))


def test_an_object_member_must_pickle_plain_values_of_the_declared_shape(tmp_path):
    path = tmp_path / "reuters.npz"
    wires = np.empty(2, dtype=object)
    wires[0], wires[1] = [1, 2], [3]
    body = pickle.dumps(wires, protocol=3)
    path.write_bytes(_npz({"x": _npy("|O", (5,), body), "y": _npy("<i8", (2,), bytes(16))}))
    with pytest.raises(ValueError, match=r"reuters.npz.*shape \(2,\), not \(5,\)"):
        reuters.load_data(path=str(path))


def test_truncated_npz_member_is_a_clear_error(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(_npz({"y_train": _npy("|u1", (10,), bytes(4))}))
    with pytest.raises(ValueError, match=r"mnist.npz.*'y_train.npy' holds 4 bytes"):
        mnist.load_data(path=str(path))


# -- word index ----------------------------------------------------------------------------------
def test_word_index_nested_200000_deep_is_a_clear_error(tmp_path):
    path = tmp_path / "imdb_word_index.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError, match="imdb_word_index.json.*not a word index"):
        imdb.get_word_index(path=str(path))


def test_word_index_of_the_wrong_shape_is_a_clear_error(tmp_path):
    path = tmp_path / "reuters_word_index.json"
    path.write_text(json.dumps({"the": {"nested": 1}}))
    with pytest.raises(ValueError, match="reuters_word_index.json.*word -> index"):
        reuters.get_word_index(path=str(path))


# -- fashion-mnist idx files --------------------------------------------------------------------
def _idx_gz(magic: int, shape: tuple, body_bytes: int) -> bytes:
    import gzip
    import struct

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as stream:
        stream.write(struct.pack(f">I{len(shape)}I", magic, *shape))
        for _ in range(body_bytes >> 20):
            stream.write(bytes(1 << 20))
        stream.write(bytes(body_bytes % (1 << 20)))
    return buffer.getvalue()


def test_fashion_idx_gzip_bomb_is_refused_from_its_header(tmp_path):
    from gpukeras.datasets.fashion_mnist import read_idx

    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(_idx_gz(0x0803, (600_000, 28, 28), 32 << 20))
    with pytest.raises(ValueError, match=r"train-images.*declares shape \(600000, 28, 28\)"):
        read_idx(str(path), 0x0803)


def test_fashion_idx_with_more_data_than_declared_is_refused(tmp_path):
    from gpukeras.datasets.fashion_mnist import read_idx

    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(_idx_gz(0x0801, (10,), 32 << 20))
    with pytest.raises(ValueError, match=r"declares shape \(10,\) but holds more"):
        read_idx(str(path), 0x0801)


# -- random damage: a result or a ValueError, nothing else ---------------------------------------
_LONG_FUZZ = os.environ.get("GPUKERAS_FUZZ_EXAMPLES")
_FUZZ = settings(
    max_examples=int(_LONG_FUZZ or 100),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=not _LONG_FUZZ,
    database=None,
)


def _valid_files() -> dict[str, bytes]:
    data = (np.arange(2 * 3072) % 251).astype(np.uint8).reshape(2, 3072)
    batch = pickle.dumps({b"data": data, b"labels": [1, 2], b"filenames": [b"a", b"b"]}, 3)
    wires = np.empty(2, dtype=object)
    wires[0], wires[1] = [1, 2, 3], [4]
    npz = _npz(
        {"x": _npy("|O", (2,), pickle.dumps(wires, protocol=3)), "y": _npy("<i8", (2,), bytes(16))}
    )
    return {"batch": batch, "npz": npz}


_VALID = _valid_files()


@_FUZZ
@given(
    kind=st.sampled_from(sorted(_VALID)),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
    keep=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_damaged_data_set_files_give_a_result_or_a_value_error(tmp_path, kind, flips, keep):
    data = bytearray(_VALID[kind])
    for at, value in flips:
        data[at % len(data)] = value
    if keep is not None:
        data = data[: keep % (len(data) + 1)]
    path = tmp_path / f"file.{kind}"
    path.write_bytes(bytes(data))
    try:
        if kind == "batch":
            load_batch(str(path))
        else:
            load_npz(str(path))
    except ValueError as error:
        assert "file." in str(error)


def test_a_pickle_sharing_one_list_exponentially_is_refused():
    shared = [1]
    for _ in range(60):
        shared = [shared, shared]  # 2**60 paths through 61 lists
    stream = pickle.dumps(shared, protocol=3)
    assert len(stream) < 1000
    with pytest.raises(pickle.UnpicklingError, match="shares one list many times"):
        load_pickle(io.BytesIO(stream))


_SET_A = b"}X\x01\x00\x00\x00aK\x01sb."  # BUILD with {'a': 1}


@pytest.mark.parametrize(
    "stream",
    [
        b"\x80\x03cnumpy._core.multiarray\n_reconstruct\n)\x81" + _SET_A,  # NEWOBJ, no __init__
        b"\x80\x03cnumpy\ndtype\n)\x81" + _SET_A,
        b"\x80\x03cnumpy\nndarray\n)\x81" + _SET_A,
        b"\x80\x03cnumpy\nndarray\n" + _SET_A,  # BUILD onto the shared stand-in itself
    ],
)
def test_stand_ins_made_without_init_or_written_onto_are_refused(stream):
    from gpukeras.datasets import _safe_pickle

    with pytest.raises(pickle.UnpicklingError):
        load_pickle(io.BytesIO(stream))
    assert not hasattr(_safe_pickle._NDARRAY, "a")
