"""``CosineDecayRestarts`` (SGDR): cosine decay that restarts, each period ``t_mul`` times longer
and each restart's peak ``m_mul`` times lower. Float32 arithmetic on the host, like Keras's."""

from __future__ import annotations

import math
from typing import Any

import numpy

from gpukeras.optimizers.schedules._schedules import LearningRateSchedule

_f32 = numpy.float32


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (Loshchilov & Hutter, SGDR).

    Args:
        initial_learning_rate: the rate at step 0 and (times ``m_mul**i``) at restart ``i``.
        first_decay_steps: length of the first period; must be > 0.
        t_mul: each period is ``t_mul`` times longer than the one before (default ``2.0``).
        m_mul: each restart's initial rate is ``m_mul`` times the previous (default ``1.0``).
        alpha: the floor, as a fraction of the period's initial rate (default ``0.0``).
        name: default ``"SGDRDecay"``.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ) -> None:
        if first_decay_steps <= 0:
            raise ValueError(
                "Argument `first_decay_steps` must be > 0. "
                f"Received: first_decay_steps={first_decay_steps}"
            )
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def _restart_and_fraction(self, fraction: numpy.float32) -> tuple[Any, Any]:
        """Which restart ``fraction`` (steps / first period) falls in, and how far into it."""
        t_mul = _f32(self._t_mul)
        if t_mul == _f32(1):
            restart = numpy.floor(fraction)
            return restart, fraction - restart
        # Periods 1, t, t**2...: restart i starts at (1 - t**i) / (1 - t) first periods.
        restart = numpy.floor(numpy.log(_f32(1) - fraction * (_f32(1) - t_mul)) / numpy.log(t_mul))
        started = (_f32(1) - t_mul**restart) / (_f32(1) - t_mul)
        return restart, (fraction - started) / t_mul**restart

    def __call__(self, step: int) -> float:
        fraction = _f32(step) / _f32(self.first_decay_steps)
        restart, fraction = self._restart_and_fraction(fraction)
        peak = _f32(self._m_mul) ** restart
        cosine = _f32(0.5) * peak * (_f32(1) + numpy.cos(_f32(math.pi) * fraction))
        alpha = _f32(self.alpha)
        return float(_f32(self.initial_learning_rate) * ((_f32(1) - alpha) * cosine + alpha))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }
