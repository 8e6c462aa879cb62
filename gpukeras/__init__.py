"""gpukeras: Keras-compatible deep learning on CuPy, with a NumPy fallback.

``import gpukeras as keras`` gives Keras's module layout: ``keras.models``,
``keras.layers``, ``keras.callbacks``, ``keras.optimizers``, ``keras.losses``,
``keras.metrics``, ``keras.utils``, ``keras.datasets``. The backend (CuPy on a
usable GPU, NumPy otherwise) is chosen on first use, never at import.
"""

from gpukeras import (
    activations,
    backend,
    callbacks,
    datasets,
    debugging,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    optimizers,
    regularizers,
    saving,
    utils,
)
from gpukeras.layers import Input
from gpukeras.models import Model, Sequential

__version__ = "0.1.0"

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "activations",
    "backend",
    "callbacks",
    "datasets",
    "debugging",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "optimizers",
    "regularizers",
    "saving",
    "utils",
]
