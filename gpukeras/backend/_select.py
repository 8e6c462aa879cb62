"""Choosing the array module: CuPy on a usable CUDA device, NumPy otherwise.

The choice is made lazily, on first use, so ``import gpukeras`` never imports
CuPy and never prints anything.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy

BACKEND_ENV_VAR = "GPUKERAS_BACKEND"
_CHOICES = ("auto", "numpy", "cupy")

_active: dict[str, Any] = {"name": None, "xp": None}


def _probe_cupy() -> tuple[ModuleType | None, str]:
    """Return (cupy, "") when CuPy can reach a CUDA device, else (None, why not).

    Any exception counts as "no GPU": a broken driver must never stop a CPU run.
    """
    try:
        import cupy
    except Exception as exc:  # noqa: BLE001 - anything here means "no CuPy"
        return None, f"`import cupy` failed ({type(exc).__name__}: {exc})"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # noqa: BLE001 - CUDA errors have no common base
        return None, f"CuPy found no CUDA device ({type(exc).__name__}: {exc})"
    if count < 1:
        return None, "CuPy found no CUDA device (getDeviceCount() returned 0)"
    return cupy, ""


def _resolve(requested: str) -> tuple[str, ModuleType]:
    if requested not in _CHOICES:
        raise ValueError(
            f"Unknown backend: expected one of {', '.join(map(repr, _CHOICES))}. "
            f"Received: {BACKEND_ENV_VAR}={requested!r}"
        )
    if requested == "numpy":
        return "numpy", numpy
    cupy, reason = _probe_cupy()
    if cupy is not None:
        return "cupy", cupy
    if requested == "cupy":
        raise RuntimeError(
            f"{BACKEND_ENV_VAR}='cupy' was requested but CuPy cannot be used: {reason}. "
            "Install a CuPy wheel that matches your CUDA (pip install 'gpukeras[gpu]' "
            "or 'gpukeras[cuda13]') on a machine with an NVIDIA GPU, or set "
            f"{BACKEND_ENV_VAR}=numpy."
        )
    return "numpy", numpy


def set_backend(name: str) -> str:
    """Select the backend now: 'auto', 'numpy' or 'cupy'. Returns the name in use.

    Arrays made before the switch stay where they were; build models after it.
    """
    resolved, module = _resolve(str(name).strip().lower())
    _active["name"], _active["xp"] = resolved, module
    return resolved


def _ensure_selected() -> None:
    if _active["xp"] is None:
        set_backend(os.environ.get(BACKEND_ENV_VAR, "auto") or "auto")


def backend() -> str:
    """The name of the backend in use: ``'numpy'`` or ``'cupy'``."""
    _ensure_selected()
    return _active["name"]


def array_module() -> ModuleType:
    """The array module of the backend in use (``numpy`` or ``cupy``)."""
    _ensure_selected()
    return _active["xp"]


def get_array_module(*arrays: Any) -> ModuleType:
    """The array module that owns ``arrays`` (NumPy for host arrays)."""
    for a in arrays:
        # NumPy arrays first: the common case on the CPU, and the cheapest test.
        if type(a) is not numpy.ndarray and is_device_array(a):
            return array_module()
    return numpy if arrays else array_module()


def is_device_array(x: Any) -> bool:
    """True for a CuPy array (checked without importing CuPy)."""
    return type(x).__module__.startswith("cupy") and hasattr(x, "get")


def device_can_hold(nbytes: int) -> bool:
    """Whether ``nbytes`` more fit in device memory (always True on NumPy)."""
    if backend() != "cupy":
        return True
    cupy = _active["xp"]
    free, _total = cupy.cuda.Device().mem_info
    pool_free = cupy.get_default_memory_pool().free_bytes()
    # Keep a margin for activations and gradients of the step itself.
    return nbytes < 0.5 * (free + pool_free)
