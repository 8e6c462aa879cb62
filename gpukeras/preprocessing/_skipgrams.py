"""``skipgrams``: (word, context) pairs for word2vec-style training."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any


def skipgrams(
    sequence: Sequence[int],
    vocabulary_size: int,
    window_size: int = 4,
    negative_samples: float = 1.0,
    shuffle: bool = True,
    categorical: bool = False,
    sampling_table: Sequence[float] | None = None,
    seed: int | None = None,
) -> tuple[list[list[int]], list[Any]]:
    """Pairs ``[word, context]`` labelled 1 for words within ``window_size`` and 0 for
    ``negative_samples`` times as many random pairs, as Keras 1/2 made them.

    Index 0 is padding and never forms a pair; ``sampling_table[i]`` is the probability of
    keeping word ``i`` as a centre word.
    """
    if isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, int):
        raise TypeError(f"`vocabulary_size` must be an int. Received: {vocabulary_size!r}")
    if vocabulary_size < 2:
        raise ValueError(
            f"`vocabulary_size` must be at least 2. Received: vocabulary_size={vocabulary_size}"
        )
    rng = random.Random(seed)
    couples: list[list[int]] = []
    labels: list[Any] = []
    for i, word in enumerate(sequence):
        if not word or (sampling_table is not None and sampling_table[word] < rng.random()):
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j != i and sequence[j]:
                couples.append([word, sequence[j]])
                labels.append([0, 1] if categorical else 1)
    if negative_samples > 0 and couples:
        count = int(len(couples) * negative_samples)
        words = [c[0] for c in couples]
        rng.shuffle(words)
        couples += [
            [words[k % len(words)], rng.randint(1, vocabulary_size - 1)] for k in range(count)
        ]
        labels += [[1, 0] if categorical else 0] * count
    if shuffle:
        order = list(range(len(couples)))
        rng.shuffle(order)
        couples = [couples[k] for k in order]
        labels = [labels[k] for k in order]
    return couples, labels
