"""Models: Sequential and the training API (compile, fit, evaluate, predict)."""

from gpukeras.models._model import Model
from gpukeras.models._sequential import Sequential

__all__ = ["Model", "Sequential"]
