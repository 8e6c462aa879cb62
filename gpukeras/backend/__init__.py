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
from gpukeras.backend._image_format import (
    image_data_format,
    image_dim_ordering,
    set_image_data_format,
    set_image_dim_ordering,
)
from gpukeras.backend._keras_functions import (  # noqa: A004 - Keras's own names
    abs,
    argmax,
    argmin,
    batch_dot,
    cast,
    clip,
    concatenate,
    dot,
    exp,
    expand_dims,
    gather,
    get_value,
    int_shape,
    l2_normalize,
    log,
    max,
    maximum,
    mean,
    min,
    minimum,
    ndim,
    ones_like,
    permute_dimensions,
    pow,
    relu,
    reshape,
    set_value,
    shape,
    sigmoid,
    softmax,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    transpose,
    var,
    variable,
    zeros_like,
)
from gpukeras.backend._keras_functions import refused as _refused
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
    "set_image_dim_ordering",
    "set_image_data_format",
    "image_dim_ordering",
    "image_data_format",
    "abs",
    "argmax",
    "argmin",
    "batch_dot",
    "cast",
    "clip",
    "concatenate",
    "dot",
    "exp",
    "expand_dims",
    "gather",
    "get_value",
    "int_shape",
    "l2_normalize",
    "log",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "ndim",
    "ones_like",
    "permute_dimensions",
    "pow",
    "relu",
    "reshape",
    "set_value",
    "shape",
    "sigmoid",
    "softmax",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sum",
    "tanh",
    "transpose",
    "var",
    "variable",
    "zeros_like",
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


def __getattr__(name: str):  # noqa: ANN202 - module attribute hook
    reason = _refused(name)
    if reason is not None:
        raise AttributeError(f"`keras.backend.{name}` is not available in gpukeras: {reason}")
    raise AttributeError(f"module 'gpukeras.backend' has no attribute {name!r}")
