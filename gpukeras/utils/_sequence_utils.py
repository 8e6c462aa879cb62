"""pad_sequences: a list of ragged sequences as one rectangular array (Keras 3's rules)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

_SIDES = ("pre", "post")


def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (or cut) each sequence to the same length and stack them.

    ``pad_sequences([[1], [2, 3], [4, 5, 6]])`` gives
    ``[[0, 0, 1], [0, 2, 3], [4, 5, 6]]`` (int32). Sequences may hold scalars or
    equal-shaped samples (then the result is ``(n, maxlen) + sample_shape``).

    Args:
        sequences: a list (anything with a length) of sequences. Required.
        maxlen: length of every output row, a non-negative int. Default ``None``:
            the longest sequence's length.
        dtype: dtype of the result; ``object`` or a string dtype for strings.
            Default ``"int32"``.
        padding: ``"pre"`` or ``"post"``: pad before or after each sequence.
            Default ``"pre"``.
        truncating: ``"pre"`` or ``"post"``: drop values from the start or the end of
            sequences longer than ``maxlen``. Default ``"pre"``.
        value: the padding value (a number, or a string with a string/object dtype).
            Default ``0.0``.

    Returns:
        A host NumPy array of shape ``(len(sequences), maxlen) + sample_shape``.

    Raises:
        ValueError: ``padding``/``truncating`` not ``"pre"``/``"post"``; ``sequences``
            is not a list of sequences, is ragged inside a sequence, its samples differ
            in shape, or a value cannot be converted to ``dtype``; a string ``value``
            with a numeric ``dtype``; a negative ``maxlen``.
        TypeError: ``maxlen`` is not an int.
    """
    _check_side("padding", padding)
    _check_side("truncating", truncating)
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise ValueError(
            "`sequences` must be a list of sequences (something with a length). "
            f"Received: sequences of type {type(sequences).__name__}"
        )
    lengths, sample_shape = _lengths_and_sample_shape(sequences)
    maxlen = _resolve_maxlen(maxlen, lengths)
    _check_value_fits_dtype(value, dtype)
    padded = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return padded
    for position, sequence in enumerate(sequences):
        if not len(sequence):
            continue
        kept = _sample_array(_cut(sequence, maxlen, truncating, position), dtype, position)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {position} "
                f"(`sequences[{position}]`) is different from expected shape {sample_shape}"
            )
        if padding == "post":
            padded[position, : len(kept)] = kept
        else:
            padded[position, -len(kept) :] = kept
    return padded


def _check_side(argument: str, side: Any) -> None:
    if side not in _SIDES:
        raise ValueError(f'`{argument}` must be "pre" or "post". Received: {argument}={side!r}')


def _lengths_and_sample_shape(sequences: Any) -> tuple[list[int], tuple[int, ...]]:
    """Each sequence's length, and the shape of a sample (from the first non-empty one)."""
    lengths = []
    sample_shape = None
    for position, sequence in enumerate(sequences):
        if isinstance(sequence, (str, bytes)) or not hasattr(sequence, "__len__"):
            raise ValueError(
                "`sequences` must be a list of iterables (lists, tuples or arrays). "
                f"Found non-iterable at position {position}: {sequence!r}"
            )
        lengths.append(len(sequence))
        if sample_shape is None and len(sequence):
            sample_shape = _shape(sequence, position)[1:]
    return lengths, sample_shape or ()


def _shape(sequence: Any, position: int) -> tuple[int, ...]:
    try:
        return np.shape(np.asarray(sequence))
    except ValueError as error:
        raise ValueError(
            f"`sequences[{position}]` is ragged: its samples do not all have one shape. "
            f"Received: {_short(sequence)}"
        ) from error


def _resolve_maxlen(maxlen: Any, lengths: list[int]) -> int:
    if maxlen is None:
        return max(lengths, default=0)
    if isinstance(maxlen, bool) or not isinstance(maxlen, numbers.Integral):
        raise TypeError(f"`maxlen` must be an int or None. Received: maxlen={maxlen!r}")
    if maxlen < 0:
        raise ValueError(f"`maxlen` must be >= 0. Received: maxlen={maxlen!r}")
    return int(maxlen)


def _check_value_fits_dtype(value: Any, dtype: Any) -> None:
    try:
        kind = np.dtype(dtype).kind
    except TypeError as error:
        raise ValueError(f"`dtype` is not a NumPy dtype. Received: dtype={dtype!r}") from error
    if isinstance(value, str) and kind not in "OUS":
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}. "
            "You should set `dtype=object` for variable length strings."
        )


def _cut(sequence: Any, maxlen: int, truncating: str, position: int) -> Any:
    """The part of ``sequence`` kept: its last (``'pre'``) or first ``maxlen`` values."""
    try:
        return sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
    except (TypeError, KeyError) as error:
        raise ValueError(
            f"`sequences[{position}]` is not a sequence that can be sliced (a list, tuple "
            f"or array). Received: {_short(sequence)}"
        ) from error


def _sample_array(kept: Any, dtype: Any, position: int) -> np.ndarray:
    try:
        return np.asarray(kept, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueError(
            f"`sequences[{position}]` cannot be converted to an array of dtype {dtype} "
            f"({error}). Received: {_short(kept)}"
        ) from error


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
