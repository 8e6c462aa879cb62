"""Models: Sequential, functional and subclassed models, and the training API."""

from gpukeras.models._cloning import clone_model
from gpukeras.models._model import Model
from gpukeras.models._sequential import Sequential
from gpukeras.saving import load_model, model_from_json

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json"]
