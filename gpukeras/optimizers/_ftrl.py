"""Ftrl: Follow The Regularized Leader, with Keras 3's L1/L2 and shrinkage regularisation."""

from __future__ import annotations

import numbers
from typing import Any

from gpukeras.backend.kernels import optimizers_extra as kernels
from gpukeras.optimizers._base import LR_0_001, Optimizer


def _check_sign(name: str, value: Any, *, negative: bool) -> float:
    """``value`` as a float, or Keras's ValueError for a value on the wrong side of zero."""
    wrong_side = value > 0.0 if negative else value < 0.0
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or wrong_side:
        side = "negative or zero" if negative else "positive or zero"
        raise ValueError(f"`{name}` needs to be {side}. Received: {name}={value}.")
    return float(value)


class Ftrl(Optimizer):
    """Ftrl (Keras 3's formulas, McMahan et al., 2013).

    Per step, with ``g2 = g + 2 * l2_shrinkage * w`` and ``p(n) = n ** -learning_rate_power``:
    ``linear += g2 - (p(accum + g^2) - p(accum)) / lr * w``,
    ``w = (clip(linear, -l1, l1) - linear) / (p(accum + g^2) / lr + 2 * (l2 + beta / (2 * lr)))``,
    ``accum += g^2``.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        learning_rate_power: default -0.5; <= 0 (0 keeps the rate fixed).
        initial_accumulator_value: default 0.1; >= 0, the accumulators' starting value.
        l1_regularization_strength: default 0.0; >= 0.
        l2_regularization_strength: default 0.0; >= 0 (a stabilisation penalty).
        l2_shrinkage_regularization_strength: default 0.0; >= 0 (a magnitude penalty added to
            the gradient).
        beta: default 0.0; the paper's beta.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'ftrl'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
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
        self.initial_accumulator_value = _check_sign(
            "initial_accumulator_value", initial_accumulator_value, negative=False
        )
        self.learning_rate_power = _check_sign(
            "learning_rate_power", learning_rate_power, negative=True
        )
        for arg, value in (
            ("l1_regularization_strength", l1_regularization_strength),
            ("l2_regularization_strength", l2_regularization_strength),
            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength),
        ):
            setattr(self, arg, _check_sign(arg, value, negative=False))
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            raise ValueError(f"Argument `beta` must be a float. Received: beta={beta!r}")
        self.beta = float(beta)

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        return [(("accumulator", "linear"), 0.0)]

    def _build_extra_state(self) -> None:
        # Keras interleaves the two slots per variable but starts them at different values.
        for slots in self._slots:
            slots["accumulator"][...] = self.initial_accumulator_value

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("accumulator", "linear")

    def _update_op(self) -> Any:
        return kernels.ftrl_op()

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        # Keras: l2_reg = l2 + beta / (2.0 * lr), all in the variable's dtype, then 2 * l2_reg.
        two = ftype(2.0)
        l2_reg = ftype(self.l2_regularization_strength) + ftype(self.beta) / (two * ftype(lr))
        return (
            2 * self.l2_shrinkage_regularization_strength,
            -self.learning_rate_power,
            float(two * l2_reg),
            self.l1_regularization_strength,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }
