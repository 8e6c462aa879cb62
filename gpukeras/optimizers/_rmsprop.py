"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import Any

from gpukeras.backend.kernels import optimizers as kernels
from gpukeras.optimizers._base import LR_0_001, Optimizer, check_number


class RMSprop(Optimizer):
    """RMSprop (Keras 3 formulas).

    ``v = rho * v + (1 - rho) * g^2``; centered also keeps ``a = rho * a + (1 - rho) * g`` and
    divides by ``sqrt(v - a^2 + epsilon)`` instead of ``sqrt(v + epsilon)``; the increment
    ``lr * g / sqrt(...)`` is subtracted directly or through momentum
    ``m = momentum * m + increment``.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        rho: default 0.9; in [0, 1].
        momentum: default 0.0; in [0, 1].
        epsilon: default 1e-7; >= 0.
        centered: default False.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'rm_sprop'`` like Keras).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
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
        self.momentum = check_number("momentum", momentum, 0.0, 1.0)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        self.centered = bool(centered)

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        groups = [(("velocity",), 0.0)]
        if self.momentum > 0:
            groups.append((("momentum",), 0.0))
        if self.centered:
            groups.append((("average_gradient",), 0.0))
        return groups

    def _kernel_slots(self) -> tuple[str, ...]:
        slots = ("velocity",) + (("average_gradient",) if self.centered else ())
        return slots + (("momentum",) if self.momentum > 0 else ())

    def _update_op(self) -> Any:
        return kernels.rmsprop_op(centered=self.centered, momentum=self.momentum > 0)

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        scalars = (self.rho, 1.0 - self.rho, self.epsilon)
        return scalars + ((self.momentum,) if self.momentum > 0 else ())

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
