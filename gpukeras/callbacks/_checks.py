"""Argument checks shared by the callbacks: errors name the argument and the value."""

from __future__ import annotations

import numbers
from typing import Any


def check_non_negative_int(value: Any, name: str) -> int:
    """``value`` if it is an ``int >= 0`` (not a bool), else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{name}` must be an integer >= 0. Received: {name}={value!r}")
    return int(value)


def check_real(value: Any, name: str) -> float:
    """``value`` as a float if it is a real number (not a bool), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    return float(value)
