"""gpukeras: Keras-compatible deep learning on CuPy, with a NumPy fallback.

``import gpukeras as keras`` gives Keras's module layout: ``keras.models``,
``keras.layers``, ``keras.callbacks``, ``keras.optimizers``, ``keras.losses``,
``keras.metrics``, ``keras.utils``, ``keras.datasets``. The backend (CuPy on a
usable GPU, NumPy otherwise) is chosen on first use, never at import.
"""

from gpukeras import (
    activations,
    autodiff,
    backend,
    callbacks,
    constraints,
    datasets,
    debugging,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from gpukeras.autodiff import GradientTape, value_and_grad
from gpukeras.layers import Input, KerasTensor
from gpukeras.models import Model, Sequential
from gpukeras.variables import Variable

__version__ = "0.1.0"

__all__ = [
    "GradientTape",
    "Input",
    "KerasTensor",
    "Model",
    "Sequential",
    "Variable",
    "activations",
    "autodiff",
    "backend",
    "callbacks",
    "constraints",
    "datasets",
    "debugging",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "ops",
    "optimizers",
    "random",
    "regularizers",
    "saving",
    "utils",
    "value_and_grad",
]
