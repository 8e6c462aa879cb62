"""Reuters newswires: 11,228 wires labelled with one of 46 topics.

Wires are lists of word indices ranked by frequency (see :mod:`imdb`).
"""

from __future__ import annotations

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
    "get_label_names",
    "get_word_index",
    "load_data",
]

ORIGIN = KERAS_DATASETS_URL + "reuters.npz"
FILE_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_ORIGIN = KERAS_DATASETS_URL + "reuters_word_index.json"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"  # md5, as Keras checks it
# Keras's reuters.npz: 11,228 pickled wires and their int64 topics.
_EXPECTED = {
    "x": ArraySpec(dtypes=("O",), max_rows=11_228, max_bytes=1 << 24),
    "y": ArraySpec(dtypes=("i8", "i4"), max_rows=11_228),
}
_LABEL_NAMES = (
    "cocoa grain veg-oil earn acq wheat copper housing money-supply coffee sugar trade "
    "reserves ship cotton carcass crude nat-gas cpi money-fx interest gnp meal-feed alum "
    "oilseed gold tin strategic-metal livestock retail ipi iron-steel rubber heat jobs lei "
    "bop zinc orange pet-chem dlr gas silver wpi hog lead"
).split()


@legacy_arguments("reuters.load_data", {"nb_words": ("num_words", None)})
def load_data(
    path: str = "reuters.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    test_split: float = 0.2,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Reuters, downloading Keras's ``reuters.npz`` on first use (sha256-checked).

    Args:
        path: file name in the data set cache, or an absolute path of your own copy.
            Default ``"reuters.npz"``.
        num_words: keep the ``num_words`` most frequent words; rarer ones become
            ``oov_char``. Default ``None`` (all words).
        skip_top: the most frequent words below this index become ``oov_char``.
            Default ``0``.
        maxlen: drop sequences of ``maxlen`` words or more. Default ``None``.
        test_split: fraction of the wires put in the test set, in [0, 1]. Default ``0.2``.
        seed: seed of the shuffle before the split. Default ``113``.
        start_char: mark put at the start of each sequence; ``None`` for none.
            Default ``1``.
        oov_char: index of out-of-vocabulary words; ``None`` drops them. Default ``2``.
        index_from: offset added to every word index. Default ``3``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``x`` are 1-D object arrays of lists
        of ints (8,982 and 2,246 with the real file), ``y`` int arrays of topics 0..45.

    Raises:
        ValueError: ``test_split`` outside [0, 1]; ``maxlen`` removes every wire; the
            file is not Reuters.
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
    if isinstance(test_split, bool) or not 0 <= test_split <= 1:
        raise ValueError(
            f"`test_split` must be a number in [0, 1]. Received: test_split={test_split!r}"
        )
    arrays = load_npz(fetch(path, ORIGIN, FILE_HASH), _EXPECTED)
    if "x" not in arrays or "y" not in arrays:
        raise ValueError(f"{path} is not the Reuters archive: expected arrays x and y")
    xs, labels = words.shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    xs = words.mark_and_offset(xs, start_char, index_from)
    if maxlen:
        xs, labels = words.drop_long(maxlen, xs, labels)
        if not xs:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence "
                "was kept. Increase maxlen."
            )
    xs = words.limit_vocabulary(xs, num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    return (
        (words.object_array(xs[:split]), np.array(labels[:split])),
        (words.object_array(xs[split:]), np.array(labels[split:])),
    )


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The dict word -> index (before ``index_from`` is added), downloaded on first use.

    Args:
        path: file name in the data set cache, or an absolute path of your own copy.
            Default ``"reuters_word_index.json"``.
    """
    return words.read_word_index(fetch(path, WORD_INDEX_ORIGIN, WORD_INDEX_HASH))


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names; position ``i`` names label ``i``."""
    return tuple(_LABEL_NAMES)
