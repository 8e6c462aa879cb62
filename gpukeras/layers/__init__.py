"""Layers with Keras 3's names, arguments and weight layouts."""

from gpukeras.layers._activation import Activation
from gpukeras.layers._dense import Dense
from gpukeras.layers._dropout import Dropout
from gpukeras.layers._input import Input, InputLayer, KerasTensor
from gpukeras.layers._layer import Layer
from gpukeras.layers._reshaping import Flatten, Reshape

__all__ = [
    "Activation",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "KerasTensor",
    "Layer",
    "Reshape",
]
