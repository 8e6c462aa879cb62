"""Layers with Keras 3's names, arguments and weight layouts."""

from gpukeras.layers._activation import Activation
from gpukeras.layers._bidirectional import Bidirectional
from gpukeras.layers._dense import Dense
from gpukeras.layers._dropout import Dropout
from gpukeras.layers._embedding import Embedding
from gpukeras.layers._gru import GRU
from gpukeras.layers._input import Input, InputLayer, KerasTensor
from gpukeras.layers._layer import Layer
from gpukeras.layers._lstm import LSTM
from gpukeras.layers._reshaping import Flatten, Reshape
from gpukeras.layers._simple_rnn import SimpleRNN
from gpukeras.layers._time_distributed import TimeDistributed

__all__ = [
    "Activation",
    "Bidirectional",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRU",
    "Input",
    "InputLayer",
    "KerasTensor",
    "LSTM",
    "Layer",
    "Reshape",
    "SimpleRNN",
    "TimeDistributed",
]
