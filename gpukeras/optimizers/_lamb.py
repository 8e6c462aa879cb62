"""Lamb: Adam's step rescaled per variable by the trust ratio ||w|| / ||step||."""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.backend.kernels import optimizers_extra as kernels
from gpukeras.backend.kernels.norms import accumulation_dtype, squared_sum
from gpukeras.optimizers._base import LR_0_001, Optimizer, check_number


class Lamb(Optimizer):
    """Lamb (Keras 3's formulas, You et al., 2019).

    Adam's moments ``m += (g - m) * (1 - beta_1)``, ``v += (g^2 - v) * (1 - beta_2)``, the step
    ``u = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + epsilon)``, then per variable
    ``w -= r * lr * u`` with the trust ratio ``r = ||w|| / ||u||`` (1 when either norm is 0).
    The moments run as one kernel over all variables; the ratios stay on the device.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        beta_1: default 0.9; in [0, 1).
        beta_2: default 0.999; in [0, 1).
        epsilon: default 1e-7; >= 0.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'lamb'``, ...).
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
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        # Both bias corrections 1 - beta^t divide: beta == 1 would divide by zero.
        self.beta_1 = check_number("beta_1", beta_1, 0.0, 1.0, high_inclusive=False)
        self.beta_2 = check_number("beta_2", beta_2, 0.0, 1.0, high_inclusive=False)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        return [(("momentum", "velocity"), 0.0)]

    def _build_extra_state(self) -> None:
        # ``update`` is scratch the moments kernel writes and the trust-ratio step reads: laid
        # out like the slots (flat when they are), never saved.
        views = self._new_slot("update", 0.0)
        for slots, view in zip(self._slots, views, strict=True):
            slots["update"] = view
        self._norms = {}

    def _kernel_slots(self) -> tuple[str, ...]:
        return ("momentum", "velocity", "update")

    def _update_op(self) -> Any:
        return kernels.lamb_moments_op()

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        one, step = ftype(1.0), ftype(self._updates + 1)
        return (
            1.0 - self.beta_1,
            1.0 - self.beta_2,
            float(one - ftype(self.beta_1) ** step),
            float(one - ftype(self.beta_2) ** step),
            self.epsilon,
        )

    def _flat_step(self, flat, factors, decay, glo, ghi, lr, op) -> None:
        super()._flat_step(flat, factors, decay, glo, ghi, lr, op)
        self._trust_ratio_steps(self._trainable, lr)

    def _step_each(self, grads_now, variables, factors, glo, ghi, lr, op) -> None:
        super()._step_each(grads_now, variables, factors, glo, ghi, lr, op)
        self._trust_ratio_steps(variables, lr)

    def _trust_ratio_steps(self, variables, lr: float) -> None:
        step = kernels.scaled_step_op()
        for variable in variables:
            index = self._index[id(variable)]
            update = self._slots[index]["update"]
            ratio = self._trust_ratio(index, variable.value, update)
            one = self._constant(1.0, update.dtype)
            step(update, ratio, one, lr, 1.0, 1.0, variable.value)

    def _trust_ratio(self, index: int, value: Any, update: Any) -> Any:
        """``||w|| / ||u||``, or 1 when either is 0, as a 0-d array of ``value``'s dtype."""
        xp = K.array_module()
        buffers = self._norms.get(index)
        if buffers is None:
            wide = accumulation_dtype(value.dtype)
            buffers = self._norms[index] = tuple(xp.zeros((), dtype=wide) for _ in range(2))
        w_norm, u_norm = buffers
        squared_sum(value, out=w_norm)
        squared_sum(update, out=u_norm)
        xp.sqrt(w_norm, out=w_norm)
        xp.sqrt(u_norm, out=u_norm)
        positive = xp.logical_and(w_norm > 0, u_norm > 0)
        with numpy.errstate(divide="ignore", invalid="ignore"):  # the 0 norms are masked
            ratio = xp.where(positive, w_norm / u_norm, 1.0)
        return ratio.astype(value.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }
