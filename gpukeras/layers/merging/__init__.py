"""Merge layers: combine a list of inputs (Keras 3's ``keras/src/layers/merging``)."""

from gpukeras.layers.merging._add import Add, add
from gpukeras.layers.merging._average import Average, average
from gpukeras.layers.merging._concatenate import Concatenate, concatenate
from gpukeras.layers.merging._dot import Dot, dot
from gpukeras.layers.merging._maximum import Maximum, maximum
from gpukeras.layers.merging._minimum import Minimum, minimum
from gpukeras.layers.merging._multiply import Multiply, multiply
from gpukeras.layers.merging._subtract import Subtract, subtract

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]
