"""Moving arrays between host and device, and counting every trip back.

``to_host`` and ``to_host_floats`` are the only ways values the fit loop or the
logs need come back to the host. Each call is one transfer and bumps the
counter, on NumPy too, so CPU tests prove the same sync budget a GPU run has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

from gpukeras.backend._select import array_module, is_device_array

_counter = {"syncs": 0}


def host_syncs() -> int:
    """How many device-to-host transfers gpukeras has made in this process."""
    return _counter["syncs"]


def to_device(x: Any, dtype: Any = None) -> Any:
    """``x`` as an array of the active backend (no copy when it already is one)."""
    xp = array_module()
    if type(x) is xp.ndarray and (dtype is None or x.dtype == dtype):
        return x  # the common case, tested first
    if is_device_array(x) and xp is numpy:
        x = x.get()
    if isinstance(x, xp.ndarray) and (dtype is None or x.dtype == dtype):
        return x
    return xp.asarray(x, dtype=dtype)


def to_host(x: Any) -> numpy.ndarray:
    """``x`` as a NumPy array: one counted transfer."""
    _counter["syncs"] += 1
    if is_device_array(x):
        return x.get()
    return numpy.asarray(x)


def to_host_floats(values: Sequence[Any]) -> list[float]:
    """Python floats for several device scalars, fetched in one transfer."""
    if not values:
        return []
    xp = array_module()
    packed = xp.stack([xp.asarray(v, dtype=xp.float64).reshape(()) for v in values])
    return [float(v) for v in to_host(packed).tolist()]
