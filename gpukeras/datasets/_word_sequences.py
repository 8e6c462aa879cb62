"""The preprocessing IMDB and Reuters share, step for step as Keras 3 does it.

Each step keeps Keras's order and its edges so the same seed gives the same
data: in particular, without ``num_words`` the largest word index itself is
treated as out of vocabulary (``w < max``), as in Keras.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np


def check_arguments(**arguments: Any) -> None:
    """Each argument must be None or an int (``num_words``, ``maxlen``, the chars...)."""
    for name, value in arguments.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, numbers.Integral)
        ):
            raise TypeError(f"`{name}` must be an int or None. Received: {name}={value!r}")


def shuffled(rng: np.random.RandomState, xs: np.ndarray, labels: np.ndarray):
    """``xs`` and ``labels`` in one random order drawn from ``rng`` (Keras's draw)."""
    if len(xs) != len(labels):
        raise ValueError(f"The file holds {len(xs)} sequences but {len(labels)} labels")
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    return xs[indices], labels[indices]


def mark_and_offset(xs: Sequence, start_char: int | None, index_from: int) -> list[list[int]]:
    """Prepend ``start_char`` (unless None) and add ``index_from`` to every word."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    return [[w + index_from for w in x] for x in xs]


def drop_long(maxlen: int | None, xs: list[list[int]], labels: Sequence) -> tuple[list, list]:
    """Keep the sequences shorter than ``maxlen`` (strictly, as Keras) with their labels."""
    kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def limit_vocabulary(
    xs: list[list[int]], num_words: int | None, skip_top: int, oov_char: int | None
) -> list[list[int]]:
    """Words outside ``[skip_top, num_words)`` become ``oov_char`` (or are dropped if None)."""
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(sequences: list[list[int]]) -> np.ndarray:
    """A 1-D object array of lists (never a 2-D array, even if all lengths match)."""
    array = np.empty(len(sequences), dtype=object)
    for i, sequence in enumerate(sequences):
        array[i] = sequence
    return array


def read_word_index(path: str) -> dict[str, int]:
    """The JSON word index at ``path``; ValueError naming the file if it is not one."""
    try:
        with open(path, encoding="utf-8") as stream:
            index = json.load(stream)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise ValueError(
            f"{path} is not a word index (a JSON object of word -> index): "
            f"{type(error).__name__}: {str(error)[:200]}"
        ) from None
    if not isinstance(index, dict) or not all(
        isinstance(value, int) and not isinstance(value, bool) for value in index.values()
    ):
        raise ValueError(f"{path} is not a word index (a JSON object of word -> index)")
    return index
