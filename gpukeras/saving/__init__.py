"""Saving and loading models and weights (the only code that imports h5py)."""

from gpukeras.saving._atomic import atomic_write_path
from gpukeras.saving._hdf5 import load_weights, save_model, save_weights

__all__ = ["atomic_write_path", "load_weights", "save_model", "save_weights"]
