"""Saving and loading models and weights in Keras's formats (the only code that imports h5py).

- ``save_model(model, path)`` / ``load_model(path, custom_objects=None, compile=True,
  safe_mode=True)``: ``.keras`` (Keras 3 zip) or ``.h5``/``.hdf5`` (legacy HDF5).
- ``save_weights(model, path)`` / ``load_weights(model, path, skip_mismatch=False,
  by_name=False)``: ``.weights.h5`` (Keras 3 layout) or legacy ``.h5``; loading also
  reads the weights of full-model files and ``.keras`` archives.
- ``model_from_json(text, custom_objects=None)``.
- ``register_keras_serializable``, ``get_custom_objects``, ``custom_object_scope``: your own
  classes and functions by name, found when loading without running code from the file.
- Files that cannot or must not be loaded raise :class:`FileFormatError` (a ValueError).
"""

from gpukeras._custom_objects import (
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from gpukeras.saving._api import (
    load_model,
    load_weights,
    model_from_json,
    model_to_json,
    save_model,
    save_weights,
)
from gpukeras.saving._atomic import atomic_write_path
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._serialization import deserialize_keras_object, serialize_keras_object

CustomObjectScope = custom_object_scope  # Keras's class name for the same context manager

__all__ = [
    "CustomObjectScope",
    "FileFormatError",
    "atomic_write_path",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "model_from_json",
    "model_to_json",
    "register_keras_serializable",
    "save_model",
    "save_weights",
    "serialize_keras_object",
]
