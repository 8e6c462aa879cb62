"""Old Keras module paths import, resolve to today's objects and warn once, at the user's
import line; what stays refused names its replacement."""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest

import gpukeras as keras
from gpukeras import _legacy_initializers

ALIASES = [
    ("gpukeras.layers.core", "Dense", keras.layers.Dense),
    ("gpukeras.layers.core", "RepeatVector", keras.layers.RepeatVector),
    ("gpukeras.layers.convolutional", "Convolution2D", keras.layers.Convolution2D),
    ("gpukeras.layers.convolutional", "MaxPooling2D", keras.layers.MaxPooling2D),
    ("gpukeras.layers.recurrent", "LSTM", keras.layers.LSTM),
    ("gpukeras.layers.embeddings", "Embedding", keras.layers.Embedding),
    ("gpukeras.layers.normalization", "BatchNormalization", keras.layers.BatchNormalization),
    ("gpukeras.layers.pooling", "GlobalMaxPooling1D", keras.layers.GlobalMaxPooling1D),
    ("gpukeras.layers.wrappers", "TimeDistributed", keras.layers.TimeDistributed),
    ("gpukeras.layers.noise", "GaussianNoise", keras.layers.GaussianNoise),
    ("gpukeras.layers.core", "Merge", keras.layers.Merge),
    ("gpukeras.layers.merge", "Merge", keras.layers.Merge),
    ("gpukeras.layers.advanced_activations", "PReLU", keras.layers.PReLU),
    ("gpukeras.utils.np_utils", "to_categorical", keras.utils.to_categorical),
    ("gpukeras.utils.data_utils", "get_file", keras.utils.get_file),
    ("gpukeras.preprocessing.sequence", "pad_sequences", keras.utils.pad_sequences),
    ("gpukeras.initializations", "Orthogonal", keras.initializers.Orthogonal),
    ("gpukeras.initializations", "normal", _legacy_initializers.normal),
    ("gpukeras.objectives", "categorical_crossentropy", keras.losses.categorical_crossentropy),
    ("gpukeras.engine", "Layer", keras.layers.Layer),
    ("gpukeras.engine", "InputSpec", keras.layers.InputSpec),
]


def fresh_import(name: str):
    sys.modules.pop(name, None)
    return importlib.import_module(name)  # this line is the "user's" import


IMPORT_LINE = fresh_import.__code__.co_firstlineno + 2


@pytest.mark.parametrize(("module", "name", "current"), ALIASES)
def test_an_old_module_path_resolves_to_the_current_object(module, name, current):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert getattr(fresh_import(module), name) is current


@pytest.mark.parametrize("module", sorted({m for m, _, _ in ALIASES}))
def test_an_old_module_path_warns_once_at_the_importing_line(module):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fresh_import(module)
        importlib.import_module(module)  # cached: no second warning
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1, [str(w.message) for w in deprecations]
    assert deprecations[0].filename == __file__
    assert deprecations[0].lineno == IMPORT_LINE
    assert module.replace("gpukeras", "keras") in str(deprecations[0].message)


def test_from_import_of_an_old_path_points_at_the_from_line():
    sys.modules.pop("gpukeras.layers.recurrent", None)
    with pytest.warns(DeprecationWarning, match="keras.layers.recurrent") as record:
        from gpukeras.layers.recurrent import GRU  # noqa: PLC0415
    assert GRU is keras.layers.GRU
    assert record[0].filename == __file__


@pytest.mark.parametrize(
    ("module", "name", "replacement"),
    [
        ("gpukeras.layers.core", "TimeDistributedDense", "TimeDistributed"),
        ("gpukeras.layers.convolutional", "AtrousConvolution2D", "dilation_rate"),
        ("gpukeras.layers.advanced_activations", "SReLU", "removed in Keras 2"),
    ],
)
def test_refused_old_names_name_their_replacement(module, name, replacement):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = fresh_import(module)
    with pytest.raises(ImportError, match=replacement):
        getattr(old, name)


def test_an_unknown_name_is_a_plain_attribute_error():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = fresh_import("gpukeras.layers.recurrent")
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        old.Nope  # noqa: B018
    assert not hasattr(old, "Nope")


def test_star_import_gives_the_listed_names():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = fresh_import("gpukeras.layers.recurrent")
    assert sorted(old.__all__) == [
        "GRU",
        "GRUCell",
        "LSTM",
        "LSTMCell",
        "RNN",
        "SimpleRNN",
        "SimpleRNNCell",
        "StackedRNNCells",
    ]
