"""Keras's result-type rules, closely enough for float32 models.

Python scalars are weak (``float32 * 2.0`` stays float32); an integer array meeting a
float (array or Python scalar) becomes that float, not float64 as NumPy would make it;
floats of different widths take the wider one (``float16 + float32 -> float32``).
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.backend import floatx

_PY_SCALARS = (bool, int, float)


def standardize(dtype: Any) -> numpy.dtype | None:
    """``dtype`` as a NumPy dtype (``None`` stays ``None``); Keras's names are NumPy's."""
    if dtype is None:
        return None
    if hasattr(dtype, "name") and not isinstance(dtype, numpy.dtype):
        dtype = dtype.name  # a Keras/NumPy-like dtype object
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise ValueError(f"Unknown dtype. Received: dtype={dtype!r}") from None


def scalar_dtype(value: Any) -> numpy.dtype:
    """The dtype Keras gives a Python scalar standing alone."""
    if isinstance(value, bool):
        return numpy.dtype(bool)
    if isinstance(value, int):
        return numpy.dtype("int32")
    return numpy.dtype(floatx())


def result_dtype(values: list[Any]) -> numpy.dtype:
    """The common dtype of arrays and weak Python scalars."""
    arrays = [v.dtype for v in values if type(v) not in _PY_SCALARS]
    floats = [d for d in arrays if d.kind in "fc"]
    if floats:
        return numpy.result_type(*floats)
    if any(isinstance(v, float) for v in values):
        return numpy.dtype(floatx())
    if arrays:
        if any(isinstance(v, int) and not isinstance(v, bool) for v in values) and all(
            d == numpy.dtype(bool) for d in arrays
        ):
            return numpy.dtype("int32")
        return numpy.result_type(*arrays)
    return scalar_dtype(values[0]) if len(values) == 1 else _scalars_dtype(values)


def _already_common(values: list[Any]) -> bool:
    """The common case, tested cheaply: arrays of one dtype, scalars that keep it."""
    dtype = None
    float_scalar = False
    for v in values:
        t = type(v)
        if t is float:
            float_scalar = True
        elif t is int:
            continue
        elif t is bool:
            return False
        elif dtype is None:
            dtype = v.dtype
        elif v.dtype != dtype:
            return False
    return dtype is not None and (dtype.kind in "fc" or not (float_scalar or dtype.kind == "b"))


def _scalars_dtype(values: list[Any]) -> numpy.dtype:
    if any(isinstance(v, float) for v in values):
        return numpy.dtype(floatx())
    if all(isinstance(v, bool) for v in values):
        return numpy.dtype(bool)
    return numpy.dtype("int32")


def promote(xp: Any, values: list[Any]) -> list[Any]:
    """``values`` with arrays cast to their common dtype; Python scalars stay weak."""
    if _already_common(values):
        return values
    target = result_dtype(values)
    out = []
    for v in values:
        if type(v) in _PY_SCALARS:
            out.append(v)
        elif v.dtype != target:
            out.append(v.astype(target))
        else:
            out.append(v)
    if all(type(v) in _PY_SCALARS for v in out):
        out[0] = xp.asarray(out[0], dtype=target)  # all scalars: one real array fixes the dtype
    return out
