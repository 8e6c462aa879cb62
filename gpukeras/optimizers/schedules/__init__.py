"""Learning-rate schedules (Keras 3 names and formulas) for any optimizer's ``learning_rate``."""

from gpukeras.optimizers.schedules._cosine_decay_restarts import CosineDecayRestarts
from gpukeras.optimizers.schedules._schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)
from gpukeras.optimizers.schedules._serialization import deserialize, serialize

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "serialize",
]
