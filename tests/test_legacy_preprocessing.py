"""Keras 1/2's text and sequence utilities (``Tokenizer``, ``text_to_word_sequence``,
``skipgrams``), ``imdb/reuters.load_data(nb_words=)``, old optimizer ``decay=`` and old
pooling arguments. Expected values were computed with Keras 3's legacy Tokenizer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpukeras as keras
from gpukeras.preprocessing.text import Tokenizer, text_to_word_sequence
from tests import test_datasets_text as datasets_text

home = datasets_text.home
site = datasets_text.site

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "A cat, a dog; the end"]
MATRICES = {
    "binary": [[0, 1, 1, 0, 0, 1], [0, 0, 0, 1, 0, 0]],
    "count": [[0, 2, 1, 0, 0, 1], [0, 0, 0, 1, 0, 0]],
    "freq": [[0, 0.5, 0.25, 0, 0, 0.25], [0, 0, 0, 1, 0, 0]],
    "tfidf": [[0, 0.947512, 0.693147, 0, 0, 0.916291], [0, 0, 0, 0.693147, 0, 0]],
}


def fitted(**kwargs) -> Tokenizer:
    tokenizer = Tokenizer(**kwargs)
    tokenizer.fit_on_texts(TEXTS)
    return tokenizer


def test_tokenizer_numbers_words_by_frequency_as_keras_does():
    tokenizer = fitted(num_words=6)
    assert tokenizer.word_index == {
        "the": 1, "cat": 2, "dog": 3, "a": 4, "sat": 5, "on": 6, "mat": 7, "ate": 8,
        "my": 9, "homework": 10, "end": 11,
    }  # fmt: skip
    assert tokenizer.document_count == 3
    assert tokenizer.texts_to_sequences(["the cat ate the unknown mat"]) == [[1, 2, 1]]


@pytest.mark.parametrize("mode", sorted(MATRICES))
def test_sequences_to_matrix_modes_match_keras(mode):
    matrix = fitted(num_words=6).sequences_to_matrix([[1, 2, 1, 5], [3]], mode=mode)
    np.testing.assert_allclose(matrix, MATRICES[mode], atol=1e-6)


def test_oov_token_takes_index_one():
    assert fitted(oov_token="<unk>").texts_to_sequences(["the zebra sat"]) == [[2, 1, 6]]


def test_nb_words_is_num_words_with_a_warning_at_the_users_line():
    with pytest.warns(DeprecationWarning, match="`nb_words`.*`num_words`") as record:
        tokenizer = Tokenizer(nb_words=4)
    assert tokenizer.num_words == 4 and record[0].filename == __file__


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Tokenizer(num_words=0), ValueError, "num_words"),
        (lambda: fitted().sequences_to_matrix([[1]], mode="bag"), ValueError, "mode"),
        (lambda: Tokenizer().texts_to_matrix(["a b"]), ValueError, "Fit the Tokenizer"),
        (lambda: text_to_word_sequence(3), TypeError, "text"),
    ],
)
def test_tokenizer_refusals_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_text_to_word_sequence_lowers_and_drops_punctuation():
    assert text_to_word_sequence("Hello, World! It's\tgreat") == ["hello", "world", "it's", "great"]


def skipgrams():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from gpukeras.preprocessing.sequence import skipgrams  # noqa: PLC0415
    return skipgrams


def test_skipgrams_pairs_neighbours_and_adds_negatives():
    couples, labels = skipgrams()([1, 2, 3, 0, 4], 5, window_size=1, shuffle=False, seed=0)
    positives = [c for c, label in zip(couples, labels) if label == 1]
    assert positives == [[1, 2], [2, 1], [2, 3], [3, 2]]  # 0 is padding: never a word
    assert labels.count(0) == 4 and all(1 <= c[1] < 5 for c in couples)


def test_skipgrams_categorical_labels_and_bad_vocabulary():
    _, labels = skipgrams()([1, 2], 3, negative_samples=0, categorical=True)
    assert labels == [[0, 1], [0, 1]]
    with pytest.raises(ValueError, match="vocabulary_size"):
        skipgrams()([1, 2], 1)


@pytest.mark.parametrize("name", ["imdb", "reuters"])
def test_load_data_takes_nb_words_as_num_words(home, site, monkeypatch, name):
    datasets_text.serve_fixture(monkeypatch, site, name)
    module = datasets_text.MODULES[name]
    expected = module.load_data(num_words=5)
    with pytest.warns(DeprecationWarning, match="`nb_words`") as record:
        got = module.load_data(nb_words=5)
    assert record[0].filename == __file__
    for want, have in zip(expected, got):
        assert [list(map(int, s)) for s in have[0]] == [list(map(int, s)) for s in want[0]]


def test_imdb_test_split_pools_and_splits_as_keras_0x(home, site, monkeypatch):
    datasets_text.serve_fixture(monkeypatch, site, "imdb")
    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data()
    total = len(x_train) + len(x_test)
    (a, _), (b, y_b) = keras.datasets.imdb.load_data(test_split=0.25)
    assert len(a) == int(total * 0.75) and len(b) == total - len(a) == len(y_b)
    with pytest.raises(ValueError, match="test_split"):
        keras.datasets.imdb.load_data(test_split=2)


def test_old_optimizer_decay_follows_keras_2_time_based_formula():
    with pytest.warns(DeprecationWarning, match="`decay`"):
        optimizer = keras.optimizers.RMSprop(lr=0.01, decay=0.5)
    rates = []
    for iterations in (0, 1, 4):
        optimizer._iterations = iterations
        rates.append(optimizer.learning_rate)
    np.testing.assert_allclose(rates, [0.01, 0.01 / 1.5, 0.01 / 3.0], rtol=1e-6)
    with pytest.raises(ValueError, match="decay"):
        keras.optimizers.SGD(decay=-1.0)


def test_old_pooling_arguments_map_to_the_new_ones():
    with pytest.warns(DeprecationWarning, match="`pool_length`") as record:
        pooling = keras.layers.MaxPooling1D(pool_length=3, stride=1)
    assert (pooling.pool_size, pooling.strides) == ((3,), (1,))
    assert record[0].filename == __file__
    with pytest.warns(DeprecationWarning, match="`dim_ordering`"):
        pooling = keras.layers.AveragePooling2D(border_mode="same", dim_ordering="th")
    assert (pooling.padding, pooling.data_format) == ("same", "channels_first")
