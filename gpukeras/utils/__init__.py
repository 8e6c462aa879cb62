"""Helpers users call around a model: seeding, label encoding, normalisation, sessions."""

from gpukeras._custom_objects import (
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from gpukeras._interactive_logging import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
    set_logging_verbosity,
)
from gpukeras.utils._data_utils import pack_x_y_sample_weight, unpack_x_y_sample_weight
from gpukeras.utils._file_utils import get_file
from gpukeras.utils._gradient_check import check_gradients
from gpukeras.utils._numerical import normalize, to_categorical
from gpukeras.utils._plot import plot_history
from gpukeras.utils._plot_model import plot_model
from gpukeras.utils._random import set_random_seed
from gpukeras.utils._sequence import Sequence
from gpukeras.utils._sequence_utils import pad_sequences
from gpukeras.utils._session import clear_session

PyDataset = Sequence  # Keras 3's name for the same base class
CustomObjectScope = custom_object_scope  # Keras's class name for the same context manager

__all__ = [
    "CustomObjectScope",
    "PyDataset",
    "Sequence",
    "check_gradients",
    "clear_session",
    "custom_object_scope",
    "disable_interactive_logging",
    "enable_interactive_logging",
    "get_custom_objects",
    "get_file",
    "get_registered_name",
    "get_registered_object",
    "is_interactive_logging_enabled",
    "normalize",
    "pack_x_y_sample_weight",
    "pad_sequences",
    "plot_history",
    "plot_model",
    "register_keras_serializable",
    "set_logging_verbosity",
    "set_random_seed",
    "to_categorical",
    "unpack_x_y_sample_weight",
]
