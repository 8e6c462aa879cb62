"""TF32 (TensorFloat-32) matrix products on NVIDIA Ampere and newer GPUs: an opt-in.

cuBLAS may round float32 GEMM inputs to TF32 (10 mantissa bits) and run them on tensor
cores, several times faster for large products at ~1e-3 relative error. CuPy keeps full
float32 unless asked: it reads ``CUPY_TF32`` the first time it multiplies float32 matrices
and otherwise through ``cupy._core._routines_linalg.set_compute_type``. This module does
both, so the switch works before and after CuPy's first GEMM. NumPy ignores it.
"""

from __future__ import annotations

import os

import numpy

from gpukeras.backend._select import array_module, backend

_STATE = {"tf32": False}


def enable_tf32(enabled: bool = True) -> None:
    """Let float32 (and complex64) matrix products use TF32 tensor cores on CuPy.

    Args:
        enabled: ``True`` (default) turns TF32 on; ``False`` restores full float32.
            Without a GPU (NumPy backend) only the setting is recorded.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enable_tf32 expects True or False. Received: enabled={enabled!r}")
    os.environ["CUPY_TF32"] = "1" if enabled else "0"
    _STATE["tf32"] = enabled
    if backend() != "cupy":
        return
    array_module()  # CuPy is imported by now
    try:
        from cupy._core import _routines_linalg as linalg
    except ImportError:  # a CuPy without the module: the environment variable decides
        return
    mode = linalg.COMPUTE_TYPE_TF32 if enabled else linalg.COMPUTE_TYPE_DEFAULT
    for dtype in (numpy.float32, numpy.complex64):
        linalg.set_compute_type(dtype, mode)


def tf32_enabled() -> bool:
    """Whether :func:`enable_tf32` turned TF32 on (``CUPY_TF32=1`` at start-up counts)."""
    return _STATE["tf32"] or os.environ.get("CUPY_TF32", "0") == "1"
