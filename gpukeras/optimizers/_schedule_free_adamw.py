"""ScheduleFreeAdamW: AdamW without a learning-rate schedule (Defazio et al., 2024)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy

from gpukeras.backend.kernels import optimizers_extra as kernels
from gpukeras.optimizers._base import Optimizer, check_number


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW (Keras 3's formulas).

    The weights ``y`` the model trains with interpolate between ``z`` (slot ``momentum``, where
    Adam-scaled gradient steps land; it starts as a copy of the weights) and ``x``, the running
    average of the ``z`` iterates, weighted ``1 / step``:
    ``v += (g^2 - v) * (1 - beta_2)``, ``z -= lr_t * g / (sqrt(v / (1 - beta_2^t)) + epsilon)``,
    ``x = (1 - 1/t) * x + z / t`` with ``x`` recovered from ``y`` and the previous ``z``, then
    ``y = (1 - beta_1) * z + beta_1 * x``. ``lr_t = lr * min(t / warmup_steps, 1)``.

    Args:
        learning_rate: default 0.0025; float, schedule or callable.
        beta_1: default 0.9; in (0, 1], the interpolation weight of ``x``.
        beta_2: default 0.999; in [0, 1].
        epsilon: default 1e-8; >= 0.
        warmup_steps: default 0; an integer >= 0, steps of linear warmup.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'schedule_free_adam_w'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = 0.0025,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        warmup_steps: int = 0,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        # beta_1 == 0 would divide by zero when x is recovered from y.
        self.beta_1 = check_number("beta_1", beta_1, 0.0, 1.0, low_inclusive=False)
        self.beta_2 = check_number("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        integral = isinstance(warmup_steps, numbers.Integral) and not isinstance(warmup_steps, bool)
        if not integral or warmup_steps < 0:
            raise ValueError(
                f"Argument `warmup_steps` must be an integer >= 0. Received: "
                f"warmup_steps={warmup_steps!r}"
            )
        self.warmup_steps = int(warmup_steps)

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        return [(("momentum", "velocity"), 0.0)]

    def _build_extra_state(self) -> None:
        # z starts at the weights (Keras copies them into its ``momentum`` slots when building).
        for variable, slots in zip(self._trainable, self._slots, strict=True):
            slots["momentum"][...] = variable.value

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("momentum", "velocity")

    def _update_op(self) -> Any:
        return kernels.schedule_free_adamw_op()

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        one, step = ftype(1.0), ftype(self._updates + 1)
        beta_1, beta_2 = ftype(self.beta_1), ftype(self.beta_2)
        step_lr = ftype(lr)
        if self.warmup_steps > 0:
            step_lr = step_lr * numpy.minimum(step / ftype(self.warmup_steps), one)
        weight = one / step
        return tuple(
            float(value)
            for value in (
                step_lr,
                one - beta_2,
                one - beta_2**step,
                ftype(self.epsilon),
                weight,
                one - weight,
                beta_1,
                one - beta_1,
            )
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "warmup_steps": self.warmup_steps,
        }
