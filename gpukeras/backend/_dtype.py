"""The default float type and the fuzz factor used to clip probabilities."""

from __future__ import annotations

import numpy

_config = {"floatx": "float32", "epsilon": 1e-7}
_FLOATS = ("float16", "float32", "float64")


def floatx() -> str:
    """The default float dtype name (``'float32'`` unless changed)."""
    return _config["floatx"]


def set_floatx(dtype: str) -> None:
    """Set the default float dtype: 'float16', 'float32' or 'float64'."""
    name = numpy.dtype(dtype).name if _is_dtype(dtype) else str(dtype)
    if name not in _FLOATS:
        raise ValueError(
            f"Unknown floatx: expected one of {', '.join(map(repr, _FLOATS))}. "
            f"Received: dtype={dtype!r}"
        )
    _config["floatx"] = name


def epsilon() -> float:
    """The fuzz factor (Keras's 1e-7) used to keep logs and divisions finite."""
    return _config["epsilon"]


def set_epsilon(value: float) -> None:
    """Set the fuzz factor returned by :func:`epsilon`."""
    _config["epsilon"] = float(value)


def _is_dtype(dtype: object) -> bool:
    try:
        numpy.dtype(dtype)
    except TypeError:
        return False
    return True
