"""``cupy.linalg``: NumPy's functions of the names real CuPy has, on device arrays."""

from __future__ import annotations

from typing import Any

import numpy

from cupy import _names
from cupy._array import unwrap, wrap


def _function(name: str) -> Any:
    target = getattr(numpy.linalg, name)
    return lambda *a, **k: wrap(target(*unwrap(a), **{n: unwrap(v) for n, v in k.items()}))


for _name in _names.LINALG:
    if hasattr(numpy.linalg, _name) and callable(getattr(numpy.linalg, _name)):
        globals()[_name] = _function(_name)
