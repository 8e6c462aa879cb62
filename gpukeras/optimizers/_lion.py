"""Lion: the sign of an interpolated momentum as the step (Chen et al., 2023)."""

from __future__ import annotations

import numbers
from typing import Any

from gpukeras.backend.kernels import optimizers_extra as kernels
from gpukeras.optimizers._base import LR_0_001, Optimizer, check_number


class Lion(Optimizer):
    """Lion (Keras 3's formulas).

    ``w -= lr * sign(m * beta_1 + g * (1 - beta_1))``, then ``m = m * beta_2 + g * (1 - beta_2)``.
    Its steps have a larger norm than Adam's: rates 3-10x smaller and weight decay 3-10x larger
    than AdamW's are typical.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        beta_1: default 0.9; in (0, 1] (0 would make it SignSGD).
        beta_2: default 0.99; the momentum's decay rate.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'lion'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
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
        real = isinstance(beta_1, numbers.Real) and not isinstance(beta_1, bool)
        if not real or beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                f"degenerates to SignSGD. Received: beta_1={beta_1}."
            )
        self.beta_1 = float(beta_1)
        self.beta_2 = check_number("beta_2", beta_2, 0.0, 1.0)

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        return [(("momentum",), 0.0)]

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("momentum",)

    def _update_op(self) -> Any:
        return kernels.lion_op()

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        # Keras casts the betas to the variable's dtype before ``1.0 - beta``.
        one, beta_1, beta_2 = ftype(1.0), ftype(self.beta_1), ftype(self.beta_2)
        return (float(beta_1), float(one - beta_1), float(beta_2), float(one - beta_2))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
