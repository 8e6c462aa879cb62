"""``gpukeras.random``: Keras's random ops, drawn on the backend's device stream."""

from gpukeras.random._draws import (
    categorical,
    dropout,
    normal,
    randint,
    shuffle,
    truncated_normal,
    uniform,
)
from gpukeras.random._seed_generator import SeedGenerator

__all__ = [
    "SeedGenerator",
    "categorical",
    "dropout",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]
