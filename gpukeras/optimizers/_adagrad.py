"""Adagrad and Adadelta: per-element rates from accumulated squared gradients."""

from __future__ import annotations

from typing import Any

from gpukeras.backend.kernels import optimizers as kernels
from gpukeras.optimizers._base import LR_0_001, Optimizer, check_number


class Adagrad(Optimizer):
    """Adagrad (Keras 3): ``acc += g^2``, ``w -= lr * g / sqrt(acc + epsilon)``.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        initial_accumulator_value: default 0.1; >= 0, the accumulators' starting value.
        epsilon: default 1e-7; >= 0.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'adagrad'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
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
        self.initial_accumulator_value = check_number(
            "initial_accumulator_value", initial_accumulator_value, low=0.0
        )
        self.epsilon = check_number("epsilon", epsilon, low=0.0)

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        return [(("accumulator",), self.initial_accumulator_value)]

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("accumulator",)

    def _update_op(self) -> Any:
        return kernels.adagrad_op()

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        return (self.epsilon,)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """Adadelta (Keras 3 formulas, including the learning rate factor).

    ``Eg = rho * Eg + (1 - rho) * g^2``; ``delta = -sqrt(Ed + eps) * g / sqrt(Eg + eps)``;
    ``Ed = rho * Ed + (1 - rho) * delta^2``; ``w += lr * delta``.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        rho: default 0.95; in [0, 1].
        epsilon: default 1e-7; >= 0.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'adadelta'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
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
        self.rho = check_number("rho", rho, 0.0, 1.0)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        return [(("accumulated_grad", "accumulated_delta_var"), 0.0)]

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("accumulated_grad", "accumulated_delta_var")

    def _update_op(self) -> Any:
        return kernels.adadelta_op()

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        return (self.rho, 1.0 - self.rho, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
