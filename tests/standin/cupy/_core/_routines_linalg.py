"""TF32 switches of ``cupy._core._routines_linalg``, recorded and otherwise ignored."""

from __future__ import annotations

from typing import Any

COMPUTE_TYPE_DEFAULT, COMPUTE_TYPE_PEDANTIC, COMPUTE_TYPE_TF32 = 0, 1, 4
_COMPUTE_TYPES: dict[Any, int] = {}


def set_compute_type(dtype: Any, compute_type: int) -> None:
    _COMPUTE_TYPES[dtype] = compute_type


def get_compute_type(dtype: Any) -> int:
    return _COMPUTE_TYPES.get(dtype, COMPUTE_TYPE_DEFAULT)
