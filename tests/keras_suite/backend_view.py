"""``keras.src.backend`` for the Keras suite: gpukeras.backend, reporting its own backend name.

Keras's tests branch on ``backend.backend()`` ("jax", "tensorflow", "torch", "numpy"). gpukeras is
none of those, so it answers "gpukeras": no test takes another backend's branch by mistake.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpukeras import backend as _gpukeras_backend
from gpukeras.variables import Variable
from tests.keras_suite.shim import Missing

#: Honest: gpukeras has no sparse tensors, so Keras's sparse-gradient tests skip themselves.
SUPPORTS_SPARSE_TENSORS = False


def backend() -> str:
    return "gpukeras"


def convert_to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, Variable):
        return np.asarray(x.numpy())
    if _gpukeras_backend.is_device_array(x):
        return np.asarray(_gpukeras_backend.to_host(x))
    return np.asarray(x)


def __getattr__(name: str) -> Any:
    if hasattr(_gpukeras_backend, name):
        return getattr(_gpukeras_backend, name)
    if name == "Variable":
        return Variable
    if name == "numpy":  # Keras's backend-level ops (``backend.numpy.zeros``): gpukeras.ops
        from gpukeras import ops

        return ops
    return Missing(f"keras.src.backend.{name}")
