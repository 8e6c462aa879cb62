"""``gpukeras.random``: Keras's random ops, drawn on the backend's device stream."""

from gpukeras.random._draws import dropout, normal, shuffle, truncated_normal, uniform
from gpukeras.random._seed_generator import SeedGenerator

__all__ = ["SeedGenerator", "dropout", "normal", "shuffle", "truncated_normal", "uniform"]
