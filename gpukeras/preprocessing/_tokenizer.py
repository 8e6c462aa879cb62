"""Keras 1/2's text ``Tokenizer`` and ``text_to_word_sequence``."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import numpy

from gpukeras._legacy import legacy_arguments

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(
    text: str, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " "
) -> list[str]:
    """The words of ``text``: ``filters`` characters become ``split``, empty words go."""
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str. Received: text={text!r:.80}")
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans(dict.fromkeys(filters, split)))
    return [word for word in text.split(split) if word]


class Tokenizer:
    """Words to indices (1 = most frequent; 0 is never a word), as Keras 1/2 did.

    Args:
        num_words: keep the ``num_words - 1`` most frequent words in sequences and
            matrices; default ``None`` (all). Keras 1's ``nb_words`` is accepted.
        filters, lower, split: as :func:`text_to_word_sequence`.
        char_level: characters are the tokens; default ``False``.
        oov_token: a token (index 1) that replaces unknown words; default ``None`` (drop).
    """

    @legacy_arguments("Tokenizer", {"nb_words": ("num_words", None)})
    def __init__(
        self,
        num_words: int | None = None,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        document_count: int = 0,
    ) -> None:
        if num_words is not None and (
            isinstance(num_words, bool) or not isinstance(num_words, int) or num_words < 1
        ):
            raise ValueError(f"`num_words` must be an int >= 1 or None. Received: {num_words!r}")
        self.num_words = num_words
        self.filters, self.lower, self.split = filters, lower, split
        self.char_level, self.oov_token = char_level, oov_token
        self.document_count = document_count
        self.word_counts: Counter[str] = Counter()
        self.word_docs: defaultdict[str, int] = defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}
        self.index_docs: defaultdict[int, int] = defaultdict(int)

    def _tokens(self, text: Any) -> list[str]:
        if self.char_level:
            return list(text.lower() if self.lower else text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts: Iterable[str]) -> None:
        """Count the words of ``texts`` and number them by frequency (ties: first seen)."""
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            self.word_counts.update(tokens)
            for word in set(tokens):
                self.word_docs[word] += 1
        ordered = [w for w, _ in sorted(self.word_counts.items(), key=lambda kv: -kv[1])]
        if self.oov_token is not None:
            ordered = [self.oov_token, *(w for w in ordered if w != self.oov_token)]
        self.word_index = {word: i for i, word in enumerate(ordered, start=1)}
        self.index_word = {i: word for word, i in self.word_index.items()}
        self.index_docs = defaultdict(int)
        for word, count in self.word_docs.items():
            self.index_docs[self.word_index[word]] = count

    def texts_to_sequences(self, texts: Iterable[str]) -> list[list[int]]:
        """Each text as its words' indices (rare and unknown words dropped, or ``oov``)."""
        oov = self.word_index.get(self.oov_token) if self.oov_token is not None else None
        sequences = []
        for text in texts:
            sequence = []
            for word in self._tokens(text):
                index = self.word_index.get(word)
                if index is not None and (self.num_words is None or index < self.num_words):
                    sequence.append(index)
                elif oov is not None:
                    sequence.append(oov)
            sequences.append(sequence)
        return sequences

    def texts_to_matrix(self, texts: Iterable[str], mode: str = "binary") -> numpy.ndarray:
        """:meth:`sequences_to_matrix` of :meth:`texts_to_sequences`."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences: Any, mode: str = "binary") -> numpy.ndarray:
        """One row per sequence, one column per word index: ``binary`` presence,
        ``count``, ``freq`` (count / length) or ``tfidf`` (Keras's smoothed formula)."""
        if mode not in _MODES:
            raise ValueError(f"Unknown `mode`: expected one of {_MODES}. Received: mode={mode!r}")
        width = self.num_words or (len(self.word_index) + 1)
        if self.num_words is None and not self.word_index:
            raise ValueError("Fit the Tokenizer on texts first, or give it `num_words`.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("`mode='tfidf'` needs a Tokenizer fitted on texts.")
        matrix = numpy.zeros((len(sequences), width))
        for row, sequence in enumerate(sequences):
            counts = Counter(i for i in sequence if 0 < i < width)
            for index, count in counts.items():
                matrix[row, index] = self._weight(mode, count, len(sequence), index)
        return matrix

    def _weight(self, mode: str, count: int, length: int, index: int) -> float:
        if mode == "binary":
            return 1.0
        if mode == "count":
            return float(count)
        if mode == "freq":
            return count / length
        idf = math.log(1 + self.document_count / (1 + self.index_docs.get(index, 0)))
        return (1 + math.log(count)) * idf
