"""Learning-rate schedules to and from Keras 3's dict form (``{'class_name', 'config', ...}``)."""

from __future__ import annotations

from typing import Any

from gpukeras.optimizers.schedules._cosine_decay_restarts import CosineDecayRestarts
from gpukeras.optimizers.schedules._schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)

__all__ = ["deserialize", "serialize"]

_SCHEDULES = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        InverseTimeDecay,
        PolynomialDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """The Keras 3 dict form of ``schedule``: ``{'module', 'class_name', 'config', ...}``."""
    return {
        "module": "keras.optimizers.schedules",
        "class_name": type(schedule).__name__,
        "config": schedule.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """A schedule from ``{'class_name': ..., 'config': {...}}`` (as :func:`serialize` writes)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "Expected a dict with 'class_name' and 'config' keys for a learning rate schedule. "
            f"Received: config={config!r}"
        )
    cls = _SCHEDULES.get(config["class_name"])
    if cls is None:
        known = ", ".join(repr(name) for name in sorted(_SCHEDULES))
        raise ValueError(
            f"Unknown learning rate schedule: {config['class_name']!r}. Expected one of: "
            f"{known}. Received: class_name={config['class_name']!r}"
        )
    return cls.from_config(dict(config.get("config", {})))
