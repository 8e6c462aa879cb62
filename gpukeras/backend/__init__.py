"""The one place that knows CuPy from NumPy.

Everything else in gpukeras writes plain array code against :func:`array_module`
(the ``xp`` idiom) and moves values between host and device through
:func:`to_device`, :func:`to_host` and :func:`to_host_floats`, which count every
device-to-host transfer so tests can hold the fit loop to its sync budget.
"""

from gpukeras.backend import kernels, random
from gpukeras.backend._collectives import Collectives, device_count, use_device
from gpukeras.backend._convert import convert_to_tensor, current_path, name_scope
from gpukeras.backend._dtype import epsilon, floatx, set_epsilon, set_floatx
from gpukeras.backend._select import (
    BACKEND_ENV_VAR,
    array_module,
    backend,
    device_can_hold,
    get_array_module,
    is_device_array,
    set_backend,
)
from gpukeras.backend._tf32 import enable_tf32, tf32_enabled
from gpukeras.backend._transfer import host_syncs, to_device, to_host, to_host_floats

__all__ = [
    "BACKEND_ENV_VAR",
    "Collectives",
    "array_module",
    "backend",
    "convert_to_tensor",
    "current_path",
    "device_can_hold",
    "device_count",
    "enable_tf32",
    "epsilon",
    "floatx",
    "get_array_module",
    "host_syncs",
    "is_device_array",
    "kernels",
    "name_scope",
    "random",
    "set_backend",
    "set_epsilon",
    "set_floatx",
    "tf32_enabled",
    "to_device",
    "to_host",
    "to_host_floats",
    "use_device",
]
