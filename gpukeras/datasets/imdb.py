"""IMDB movie reviews: 25,000 + 25,000 reviews labelled positive (1) or negative (0).

Reviews are lists of word indices ranked by frequency (3 is the most frequent
word with the default ``index_from=3``); 0 is padding, 1 the start mark, 2 OOV.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpukeras._legacy import legacy_arguments
from gpukeras.datasets import _word_sequences as words
from gpukeras.datasets._files import KERAS_DATASETS_URL, fetch
from gpukeras.datasets._npz import ArraySpec, load_npz

__all__ = [
    "FILE_HASH",
    "ORIGIN",
    "WORD_INDEX_HASH",
    "WORD_INDEX_ORIGIN",
    "get_word_index",
    "load_data",
]

ORIGIN = KERAS_DATASETS_URL + "imdb.npz"
FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_ORIGIN = KERAS_DATASETS_URL + "imdb_word_index.json"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"  # md5, as Keras checks it
# Keras's imdb.npz: 25,000 pickled reviews (about 20 MB of pickle) and int64 labels per split.
_REVIEWS = ArraySpec(dtypes=("O",), max_rows=25_000, max_bytes=1 << 26)
_LABELS = ArraySpec(dtypes=("i8", "i4"), max_rows=25_000)
_EXPECTED = {"x_train": _REVIEWS, "y_train": _LABELS, "x_test": _REVIEWS, "y_test": _LABELS}


@legacy_arguments("imdb.load_data", {"nb_words": ("num_words", None)})
def load_data(
    path: str = "imdb.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    test_split: float | None = None,
    **kwargs: Any,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load IMDB, downloading Keras's ``imdb.npz`` on first use (sha256-checked).

    Its ragged sequences are pickled object arrays; they are read with an
    unpickler that only rebuilds NumPy arrays, never ``allow_pickle=True``.

    Args:
        path: file name in the data set cache, or an absolute path of your own copy.
            Default ``"imdb.npz"``.
        num_words: keep the ``num_words`` most frequent words; rarer ones become
            ``oov_char``. Default ``None`` (all words).
        skip_top: the most frequent words below this index become ``oov_char``.
            Default ``0``.
        maxlen: drop sequences of ``maxlen`` words or more (counting the start mark).
            Default ``None`` (keep all).
        seed: seed of the shuffle of each split. Default ``113``.
        start_char: mark put at the start of each sequence; ``None`` for none.
            Default ``1``.
        oov_char: index of out-of-vocabulary words; ``None`` drops them. Default ``2``.
        index_from: offset added to every word index. Default ``3``.
        test_split: Keras 0.x's argument: when given, the two halves are pooled (train
            first) and the last ``test_split`` fraction is the test set. Default ``None``
            (the file's own 25,000/25,000 split). ``nb_words`` is accepted for
            ``num_words`` with a DeprecationWarning.
        **kwargs: accepted and ignored, as Keras 3 does (old Keras arguments).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``x`` are 1-D object arrays of
        lists of ints (25,000 each with the real file), ``y`` int arrays of 0/1.

    Raises:
        ValueError: ``maxlen`` removes every sequence of a split; the file is not IMDB.
        OSError: the download failed (the message says where to put the file by hand).
    """
    words.check_arguments(
        num_words=num_words,
        skip_top=skip_top,
        maxlen=maxlen,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
    )
    arrays = _read(fetch(path, ORIGIN, FILE_HASH))
    rng = np.random.RandomState(seed)
    x_train, labels_train = words.shuffled(rng, arrays["x_train"], arrays["y_train"])
    x_test, labels_test = words.shuffled(rng, arrays["x_test"], arrays["y_test"])
    x_train = words.mark_and_offset(x_train, start_char, index_from)
    x_test = words.mark_and_offset(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = words.drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = words.drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence "
                "was kept. Increase maxlen."
            )
    xs = words.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(labels_train), np.asarray(labels_test)])
    split = len(x_train)
    if test_split is not None:
        if isinstance(test_split, bool) or not 0 <= test_split <= 1:
            raise ValueError(
                f"`test_split` must be a number in [0, 1]. Received: test_split={test_split!r}"
            )
        split = int(len(xs) * (1 - test_split))
    return (
        (words.object_array(xs[:split]), labels[:split]),
        (words.object_array(xs[split:]), labels[split:]),
    )


def _read(path: str) -> dict[str, np.ndarray]:
    arrays = load_npz(path, _EXPECTED)
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise ValueError(f"{path} is not the IMDB archive: it lacks {', '.join(missing)}")
    return arrays


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The dict word -> index (before ``index_from`` is added), downloaded on first use.

    Args:
        path: file name in the data set cache, or an absolute path of your own copy.
            Default ``"imdb_word_index.json"``.
    """
    return words.read_word_index(fetch(path, WORD_INDEX_ORIGIN, WORD_INDEX_HASH))
