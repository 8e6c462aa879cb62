"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

from gpukeras.backend.kernels import optimizers as kernels
from gpukeras.optimizers._base import LR_0_01, Optimizer, check_number


class SGD(Optimizer):
    """Gradient descent with momentum (Keras 3 formulas).

    ``momentum == 0``: ``w -= lr * g``. Otherwise ``m = momentum * m - lr * g`` and
    ``w += m``, or with Nesterov ``w += momentum * m - lr * g``.

    Args:
        learning_rate: default 0.01; float, schedule or callable.
        momentum: default 0.0; in [0, 1].
        nesterov: default False.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'sgd'``, ``'sgd_1'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_01,
        momentum: float = 0.0,
        nesterov: bool = False,
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
        self.momentum = _checked_momentum(momentum)
        self.nesterov = bool(nesterov)

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        return [(("momentum",), 0.0)] if self.momentum != 0 else []

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("momentum",) if self.momentum != 0 else ()

    def _update_op(self) -> Any:
        return kernels.sgd_op(momentum=self.momentum != 0, nesterov=self.nesterov)

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        return (self.momentum,) if self.momentum != 0 else ()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


def _checked_momentum(momentum: Any) -> float:
    """``momentum`` as a float in [0, 1], refused in Keras's words (its tests match them)."""
    try:
        return check_number("momentum", momentum, 0.0, 1.0)
    except ValueError:
        raise ValueError(
            f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}"
        ) from None
