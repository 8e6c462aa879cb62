"""Squared sums for gradient clipping: one fused reduction on CuPy, a NumPy twin otherwise.

The sum is accumulated in float32 for 16-bit inputs (float16 and bfloat16): a float16
gradient whose norm exceeds 256 would overflow its own dtype (the largest float16 is 65504),
and bfloat16 keeps only 8 bits of mantissa. float32 and float64 accumulate in their own dtype.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.backend.kernels._reduction import ReductionOp

__all__ = ["accumulation_dtype", "squared_sum"]

_SCRATCH: dict[tuple[Any, ...], numpy.ndarray] = {}


def accumulation_dtype(dtype: Any) -> numpy.dtype:
    """float32 for 16-bit floats, else ``dtype`` itself: the dtype :func:`squared_sum` sums in."""
    dtype = numpy.dtype(dtype)
    return numpy.dtype(numpy.float32) if dtype.itemsize < 4 else dtype


def _types(dtype: Any) -> dict[str, Any]:
    return {"T": numpy.dtype(dtype), "S": accumulation_dtype(dtype)}


def _squared_sum_numpy(x: Any, out: Any) -> Any:
    wide = accumulation_dtype(x.dtype)
    key = (x.shape, wide.str)
    squares = _SCRATCH.get(key)
    if squares is None:
        squares = _SCRATCH[key] = numpy.empty(x.shape, dtype=wide)
    # For float32/float64 the cast is a plain copy and the result is bit-identical to
    # ``numpy.sum(x * x)``; 16-bit inputs are widened before they are squared.
    numpy.multiply(x, x, out=squares, dtype=wide)
    return numpy.sum(squares, out=out)


_SQUARED_SUM = ReductionOp(
    "squared_sum",
    "T x",
    "S y",
    "S(x) * S(x)",
    "a + b",
    "y = a",
    "0",
    _squared_sum_numpy,
    reduce_type="S",
    type_rule=_types,
)


def squared_sum(x: Any, out: Any) -> Any:
    """``sum(x * x)`` written into the 0-d array ``out`` without leaving the device.

    ``out`` must have :func:`accumulation_dtype` of ``x.dtype`` (float32 for 16-bit ``x``).
    """
    expected = accumulation_dtype(x.dtype)
    if out.dtype != expected:
        raise TypeError(
            f"squared_sum accumulates {x.dtype} in {expected}: `out` must have that dtype. "
            f"Received: out.dtype={out.dtype}"
        )
    return _SQUARED_SUM(x, out=out)
