"""Adafactor: second moments kept factored, as one row and one column average per matrix."""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.backend.kernels import optimizers_extra as kernels
from gpukeras.optimizers._base import LR_0_001, Optimizer, check_number


def _rms(xp: Any, x: Any) -> Any:
    return xp.sqrt(xp.mean(xp.square(x)))


class Adafactor(Optimizer):
    """Adafactor (Keras 3's formulas, Shazeer and Stern, 2018).

    With ``t`` the step, ``beta_t = 1 - t ** beta_2_decay`` and ``s = g^2 + epsilon_1``: a
    variable of rank >= 2 keeps ``r`` (``s`` averaged over the last axis) and ``c`` (averaged
    over the second-to-last), each ``beta_t * old + (1 - beta_t) * new``, and estimates
    ``v = (r / mean(r)) outer c``; a smaller one keeps ``v`` itself. Then ``u = g / sqrt(v)``,
    ``w -= max(epsilon_2, rms(w)) * min(lr, 1/sqrt(t)) * u / max(1, rms(u) / clip_threshold)``.
    With ``relative_step`` and a float rate, ``lr`` is first capped at ``1/sqrt(t)``.

    The clipped gradient and the weight decay come from one kernel, the moments are ``xp``
    reductions and the last step is one kernel taking its two scalars as device arrays: nothing
    is read on the host.

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        beta_2_decay: default -0.8; the decay rate of the second moment's ``beta_t``.
        epsilon_1: default 1e-30; added to the squared gradient.
        epsilon_2: default 1e-3; the smallest ``rms(w)`` the step scales with.
        clip_threshold: default 1.0; > 0, the RMS the unscaled step is clipped to.
        relative_step: default True; cap the rate at ``1/sqrt(t)``.
        weight_decay, clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'adafactor'``, ...).
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        beta_2_decay: float = -0.8,
        epsilon_1: float = 1e-30,
        epsilon_2: float = 1e-3,
        clip_threshold: float = 1.0,
        relative_step: bool = True,
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
        self.beta_2_decay = check_number("beta_2_decay", beta_2_decay)
        self.epsilon_1 = check_number("epsilon_1", epsilon_1, low=0.0)
        self.epsilon_2 = check_number("epsilon_2", epsilon_2, low=0.0)
        self.clip_threshold = check_number(
            "clip_threshold", clip_threshold, low=0.0, low_inclusive=False
        )
        self.relative_step = bool(relative_step)

    def _build_extra_state(self) -> None:
        # Keras's order per variable: r, c, velocity. Below rank 2, r and c are unused 0-d
        # placeholders (kept so saved states line up with Keras's).
        xp = K.array_module()
        for index, variable in enumerate(self._trainable):
            value, slots = variable.value, self._slots[index]
            factored = value.ndim >= 2
            row_shape = value.shape[:-1] if factored else ()
            column_shape = value.shape[:-2] + value.shape[-1:] if factored else ()
            slots["r"] = xp.zeros(row_shape, dtype=value.dtype)
            slots["c"] = xp.zeros(column_shape, dtype=value.dtype)
            slots["velocity"] = xp.zeros_like(value)
            slots["clipped"] = xp.zeros_like(value)  # scratch, not state
            self._slot_order += [(index, "r"), (index, "c"), (index, "velocity")]

    def _update_op(self) -> Any:
        return kernels.clip_decay_op()

    def _flat_step(self, flat, factors, decay, glo, ghi, lr, op) -> None:
        # The moments are per matrix: walk the packed views one variable at a time.
        count = len(self._trainable)
        self._step_each(flat.grad_views, self._trainable, [factors] * count, glo, ghi, lr, op)

    def _step_each(self, grads_now, variables, factors, glo, ghi, lr, op) -> None:
        for grad, variable, (gmul, gdiv) in zip(grads_now, variables, factors, strict=True):
            slots = self._slots[self._index[id(variable)]]
            value, clipped = variable.value, slots["clipped"]
            op(grad, gmul, gdiv, glo, ghi, self._decay_for(variable), lr, value, clipped)
            self._factored_step(clipped, value, slots, lr)

    def _factored_step(self, g: Any, value: Any, slots: dict[str, Any], lr: float) -> None:
        # Host scalars are rounded in the variable's float type (as Keras casts them), then
        # passed as Python floats, which device arithmetic takes without leaving the device.
        xp = K.array_module()
        f = numpy.dtype(value.dtype).type
        step = f(self._updates + 1)
        cap = f(1.0) / numpy.sqrt(step)
        rate = f(lr)
        if self.relative_step and not callable(self._learning_rate):
            rate = numpy.minimum(rate, cap)
        rho = float(numpy.minimum(rate, cap))
        alpha = xp.maximum(float(f(self.epsilon_2)), _rms(xp, value)) * rho
        squared = xp.square(g)
        squared += float(f(self.epsilon_1))
        beta = f(1.0) - step ** f(self.beta_2_decay)
        keep, new = float(beta), float(f(1.0) - beta)
        velocity = slots["velocity"]
        if value.ndim >= 2:
            r, c = slots["r"], slots["c"]
            r[...] = keep * r + new * xp.mean(squared, axis=-1)
            c[...] = keep * c + new * xp.mean(squared, axis=-2)
            row_share = r / xp.mean(r, axis=-1, keepdims=True)
            velocity[...] = xp.expand_dims(row_share, -1) * xp.expand_dims(c, -2)
        else:
            velocity[...] = keep * velocity + new * squared
        u = g / xp.sqrt(velocity)
        divisor = xp.maximum(1.0, _rms(xp, u) / float(f(self.clip_threshold)))
        as_array = [xp.asarray(x, dtype=value.dtype) for x in (alpha, divisor)]
        kernels.scaled_step_op()(u, *as_array, 1.0, 1.0, 1.0, value)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": self.relative_step,
        }
