"""Adam and its relatives: AdamW, Adamax, Nadam.

Bias corrections are computed on the host once per step in the variable's float type, in the
order Keras 3 computes them, so the values passed to the kernels round like Keras's.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.backend.kernels import optimizers as kernels
from gpukeras.optimizers._base import LR_0_001, Optimizer, check_number


class _AdamBase(Optimizer):
    """Shared constructor of the Adam family (betas, epsilon)."""

    def __init__(
        self,
        learning_rate: Any,
        beta_1: float,
        beta_2: float,
        epsilon: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        # beta_1 == 1 would divide by zero in the bias correction 1 - beta_1^t.
        self.beta_1 = check_number("beta_1", beta_1, 0.0, 1.0, high_inclusive=False)
        self.beta_2 = check_number("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Adam(_AdamBase):
    """Adam (Keras 3 formulas).

    ``m += (g - m) * (1 - beta_1)``, ``v += (g^2 - v) * (1 - beta_2)``,
    ``w -= m * alpha / (sqrt(v) + epsilon)`` with
    ``alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``; amsgrad uses the running maximum of
    ``v`` in the denominator.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        beta_1: default 0.9; in [0, 1).
        beta_2: default 0.999; in [0, 1].
        epsilon: default 1e-7; >= 0.
        amsgrad: default False.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'adam'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.amsgrad = bool(amsgrad)

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        groups = [(("momentum", "velocity"), 0.0)]
        return groups + ([(("velocity_hat",), 0.0)] if self.amsgrad else [])

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def _update_op(self) -> Any:
        return kernels.adam_op(amsgrad=self.amsgrad)

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        step = ftype(self._updates + 1)
        beta_1_power = ftype(self.beta_1) ** step
        beta_2_power = ftype(self.beta_2) ** step
        alpha = ftype(lr) * numpy.sqrt(ftype(1) - beta_2_power) / (ftype(1) - beta_1_power)
        return (float(alpha), 1.0 - self.beta_1, 1.0 - self.beta_2, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``w -= w * weight_decay * lr`` before each update).

    Args:
        learning_rate: default 0.001.
        weight_decay: default 0.004; must be a float >= 0 (None is rejected, as in Keras).
        beta_1, beta_2, epsilon, amsgrad: as :class:`Adam` (0.9, 0.999, 1e-7, False).
        clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'adam_w'`` like Keras).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )


class Adamax(_AdamBase):
    """Adamax (Keras 3): Adam with the infinity norm.

    ``m += (g - m) * (1 - beta_1)``, ``u = max(beta_2 * u, |g|)``,
    ``w -= lr * m / ((1 - beta_1^t) * (u + epsilon))``.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        beta_1: default 0.9; in [0, 1).
        beta_2: default 0.999; in [0, 1].
        epsilon: default 1e-7; >= 0.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'adamax'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        return [(("momentum", "norm"), 0.0)]

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("momentum", "norm")

    def _update_op(self) -> Any:
        return kernels.adamax_op()

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        beta_1_power = ftype(self.beta_1) ** ftype(self._updates + 1)
        one_minus_power = float(ftype(1) - beta_1_power)
        return (1.0 - self.beta_1, self.beta_2, one_minus_power, self.epsilon)


class Nadam(_AdamBase):
    """Nadam (Keras 3): Adam with Nesterov momentum and Keras's momentum schedule
    ``u_t = beta_1 * (1 - 0.5 * 0.96^t)``.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        beta_1: default 0.9; in [0, 1).
        beta_2: default 0.999; in [0, 1].
        epsilon: default 1e-7; >= 0.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'nadam'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self._u_product = 1.0

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        return [(("momentum", "velocity"), 0.0)]

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("momentum", "velocity")

    def _update_op(self) -> Any:
        return kernels.nadam_op()

    def _ftype(self) -> Any:
        return numpy.dtype(self._extra_dtype()).type

    def _build_extra_state(self) -> None:
        self._u_product = 1.0

    def _advance_state(self) -> None:
        # Keras keeps the product of the u_t in a variable of the first weight's dtype.
        f = self._ftype()
        decay = f(1.0) - f(0.5) * f(0.96) ** f(self._updates + 1)
        self._u_product = float(f(self._u_product) * f(self.beta_1) * decay)

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        f = ftype
        one, half, decay = f(1.0), f(0.5), f(0.96)
        beta_1, beta_2 = f(self.beta_1), f(self.beta_2)
        u_t = beta_1 * (one - half * decay ** f(self._updates + 1))
        u_t_1 = beta_1 * (one - half * decay ** f(self._updates + 2))
        u_product_t = f(self._u_product)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = beta_2 ** f(self._updates + 1)
        return tuple(
            float(value)
            for value in (
                one - beta_1,
                one - beta_2,
                u_t_1,
                one - u_product_t_1,
                one - u_t,
                one - u_product_t,
                one - beta_2_power,
            )
        ) + (self.epsilon,)

    def _extra_state(self) -> list[tuple[str, float]]:
        return [("variable", self._u_product)] if self.built else []

    def _set_extra_state(self, values: list[float]) -> None:
        if values:
            self._u_product = float(values[0])
