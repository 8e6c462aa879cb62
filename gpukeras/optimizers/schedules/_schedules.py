"""Learning-rate schedules: Keras 3's formulas, evaluated on the host in float32.

An optimizer calls ``schedule(iterations)`` once per step with a Python int and passes the
resulting Python float to its kernels, so a schedule never triggers a recompile or a device
sync. The arithmetic runs in ``numpy.float32`` like Keras's (which casts to the dtype of
``initial_learning_rate``), so values round the same way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

_f32 = numpy.float32


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step) -> float`` and ``get_config()``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)


def _check_decay_steps(decay_steps: Any, name: str = "decay_steps") -> None:
    if isinstance(decay_steps, bool) or not isinstance(decay_steps, (int, float)):
        raise ValueError(
            f"Argument `{name}` must be a number > 0. Received: {name}={decay_steps!r}"
        )
    if decay_steps <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={decay_steps}")


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps per decay period; must be > 0.
        decay_rate: multiplier per period.
        staircase: default False; True floors ``step / decay_steps`` (decay in whole periods).
        name: default ``"ExponentialDecay"``.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "ExponentialDecay",
    ) -> None:
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: int) -> float:
        p = _f32(step) / _f32(self.decay_steps)
        if self.staircase:
            p = numpy.floor(p)
        return float(_f32(self.initial_learning_rate) * (_f32(self.decay_rate) ** p))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, then ``values[1]`` while
    ``step <= boundaries[1]``, ..., ``values[-1]`` after the last boundary.

    Args:
        boundaries: increasing step numbers (one fewer than ``values``).
        values: the learning rate of each interval.
        name: default ``"PiecewiseConstant"``.
    """

    def __init__(
        self, boundaries: list[int], values: list[float], name: str = "PiecewiseConstant"
    ) -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values, strict=False):
            if step <= boundary:
                return float(_f32(value))
        return float(_f32(self.values[-1]))

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps per decay period; must be > 0.
        decay_rate: how fast the rate falls.
        staircase: default False; True floors ``step / decay_steps``.
        name: default ``"InverseTimeDecay"``.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "InverseTimeDecay",
    ) -> None:
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: int) -> float:
        p = _f32(step) / _f32(self.decay_steps)
        if self.staircase:
            p = numpy.floor(p)
        return float(_f32(self.initial_learning_rate) / (_f32(1) + _f32(self.decay_rate) * p))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, step capped at decay_steps.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps to reach ``end_learning_rate``; must be > 0.
        end_learning_rate: default 0.0001.
        power: default 1.0 (linear).
        cycle: default False; True restarts with ``decay_steps`` stretched to the next multiple
            above ``step``.
        name: default ``"PolynomialDecay"``.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ) -> None:
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: int) -> float:
        step_f = _f32(step)
        decay_steps = _f32(self.decay_steps)
        if self.cycle:
            multiplier = _f32(1) if step == 0 else _f32(math.ceil(step / self.decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step_f = min(step_f, decay_steps)
        p = step_f / decay_steps
        initial, end = _f32(self.initial_learning_rate), _f32(self.end_learning_rate)
        return float((initial - end) * ((_f32(1) - p) ** _f32(self.power)) + end)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay to ``alpha * rate`` over ``decay_steps``.

    Without warmup: ``initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)``
    with ``s = min(step, decay_steps)``. With ``warmup_target``: linear from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then the cosine decay
    from ``warmup_target``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: length of the cosine decay; must be > 0.
        alpha: default 0.0; the final rate as a fraction of the starting one.
        name: default ``"CosineDecay"``.
        warmup_target: default None (no warmup).
        warmup_steps: default 0.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ) -> None:
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step: numpy.float32, decay_from: numpy.float32) -> numpy.float32:
        fraction = step / _f32(self.decay_steps)
        cosine = _f32(0.5) * (_f32(1) + numpy.cos(_f32(math.pi) * fraction))
        decayed = _f32(1 - self.alpha) * cosine + _f32(self.alpha)
        return decay_from * decayed

    def __call__(self, step: int) -> float:
        initial = _f32(self.initial_learning_rate)
        decay_steps = _f32(self.decay_steps)
        if self.warmup_target is None:
            return float(self._decay(min(_f32(step), decay_steps), initial))
        target, warmup_steps = _f32(self.warmup_target), _f32(self.warmup_steps)
        step_f = min(_f32(step), decay_steps + warmup_steps)
        if step_f < warmup_steps:
            return float((target - initial) * (step_f / warmup_steps) + initial)
        return float(self._decay(step_f - warmup_steps, target))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }
