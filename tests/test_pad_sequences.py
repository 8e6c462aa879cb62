"""gpukeras.utils.pad_sequences: Keras 3's outputs (fixture) and clear errors on bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gpukeras.utils import pad_sequences

with open(os.path.join(os.path.dirname(__file__), "fixtures", "pad_sequences.json")) as _stream:
    KERAS_CASES = json.load(_stream)["cases"]


@pytest.mark.parametrize("case", KERAS_CASES, ids=[str(i) for i in range(len(KERAS_CASES))])
def test_same_output_as_keras(case):
    kwargs = dict(case["kwargs"])
    if kwargs.get("dtype") == "object":
        kwargs["dtype"] = object
    padded = pad_sequences(case["sequences"], **kwargs)
    assert isinstance(padded, np.ndarray)
    assert str(padded.dtype) == case["dtype"]
    assert list(padded.shape) == case["shape"]
    assert padded.tolist() == case["expected"]


def test_docstring_example_and_arrays_as_input():
    out = pad_sequences([np.array([1]), (2, 3), [4, 5, 6]])
    np.testing.assert_array_equal(out, [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    assert out.dtype == np.int32


def test_nan_padding_into_floats():
    out = pad_sequences([[1, 2], []], value=np.nan, dtype="float32")
    assert np.isnan(out[1]).all() and out[0].tolist() == [1.0, 2.0]


def test_zero_maxlen_and_no_sequences_are_empty_arrays():
    assert pad_sequences([[1, 2], [3]], maxlen=0).shape == (2, 0)
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([], maxlen=3).shape == (0, 3)


@pytest.mark.parametrize(
    "sequences, match",
    [
        ([[1], [[2, 3]]], r"position 1 .*different from expected shape \(\)"),
        ([[1, [2, 3]]], r"`sequences\[0\]` is ragged"),
        ([[[1, 2], [3]]], r"`sequences\[0\]` is ragged"),
        ([[1, 2], 3], r"non-iterable at position 1: 3"),
        ([[1], None], r"non-iterable at position 1"),
        (["abc", [1]], r"non-iterable at position 0"),
        ([[1, "x"]], r"`sequences\[0\]` cannot be converted to an array of dtype int32"),
        ([[{1: 2}]], r"`sequences\[0\]` cannot be converted"),
        ([{1: 2}], r"`sequences\[0\]` is not a sequence that can be sliced"),
        ([[1, 300]], r"cannot be converted"),  # with dtype uint8 below
    ],
)
def test_garbage_is_a_clear_value_error(sequences, match):
    dtype = "uint8" if sequences == [[1, 300]] else "int32"
    with pytest.raises(ValueError, match=match):
        pad_sequences(sequences, dtype=dtype)


@pytest.mark.parametrize("sequences", ["abc", 5, (x for x in [[1]])])
def test_sequences_must_be_a_list(sequences):
    with pytest.raises(ValueError, match="`sequences` must be a list of sequences"):
        pad_sequences(sequences)


@pytest.mark.parametrize("argument", ["padding", "truncating"])
def test_bad_padding_or_truncating(argument):
    with pytest.raises(ValueError, match=f"`{argument}` must be .* Received: {argument}='mid'"):
        pad_sequences([[1, 2]], maxlen=5, **{argument: "mid"})


def test_bad_maxlen():
    with pytest.raises(ValueError, match="maxlen=-1"):
        pad_sequences([[1, 2]], maxlen=-1)
    with pytest.raises(TypeError, match="maxlen=1.5"):
        pad_sequences([[1, 2]], maxlen=1.5)
    assert pad_sequences([[1, 2]], maxlen=np.int64(1)).tolist() == [[2]]


def test_string_value_needs_a_string_or_object_dtype():
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="pad")
    with pytest.raises(ValueError, match="`dtype` is not a NumPy dtype"):
        pad_sequences([[1]], dtype="no-such-dtype")
