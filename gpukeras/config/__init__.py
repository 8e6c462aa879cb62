"""``keras.config``: the global settings in one place, as Keras 3 gathers them.

Every name is the same function as elsewhere in gpukeras (``backend.floatx``,
``mixed_precision.set_global_policy``, ``utils.disable_interactive_logging``, ...); this
module only gives Keras 3's import path to them.
"""

from gpukeras._interactive_logging import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from gpukeras.backend import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from gpukeras.mixed_precision import global_policy as dtype_policy
from gpukeras.mixed_precision import set_global_policy as set_dtype_policy

__all__ = [
    "backend",
    "disable_interactive_logging",
    "dtype_policy",
    "enable_interactive_logging",
    "epsilon",
    "floatx",
    "image_data_format",
    "is_interactive_logging_enabled",
    "set_dtype_policy",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
]
