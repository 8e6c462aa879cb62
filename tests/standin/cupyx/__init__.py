"""``cupyx`` for the CuPy stand-in: ``scatter_add`` on device arrays."""

from __future__ import annotations

from typing import Any

import numpy
from cupy._array import unwrap


def scatter_add(a: Any, slices: Any, value: Any) -> None:
    numpy.add.at(unwrap(a, "cupyx.scatter_add"), unwrap(slices), unwrap(value))
