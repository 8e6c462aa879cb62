"""Models: Sequential and the training API (compile, fit, evaluate, predict)."""

from gpukeras.models._model import Model
from gpukeras.models._sequential import Sequential
from gpukeras.saving import load_model, model_from_json

__all__ = ["Model", "Sequential", "load_model", "model_from_json"]
