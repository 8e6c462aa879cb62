"""Muon: momentum orthogonalised by Newton-Schulz for matrices, AdamW for everything else."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.backend.kernels import optimizers as adam_kernels
from gpukeras.backend.kernels import optimizers_extra as kernels
from gpukeras.optimizers._base import LR_0_001, Optimizer, check_number


class Muon(Optimizer):
    """Muon (Keras 3's formulas and its rules for which variables it orthogonalises).

    A variable takes the AdamW step (slots ``momentum``, ``velocity``; rate
    ``learning_rate * adam_lr_ratio``, decay ``adam_weight_decay``) when it is not 2-D, when
    ``exclude_embeddings`` and its path contains ``embedding``, or when its path matches one of
    the ``exclude_layers`` regular expressions. Every other matrix takes the Muon step (slot
    ``momentum``, decay ``weight_decay``): ``m += g + m * (momentum - 1)``, the direction
    ``g + momentum * m`` (Nesterov) or ``m``, orthogonalised by ``ns_steps`` quintic
    Newton-Schulz iterations (:meth:`zeropower_via_newtonschulz5`), then
    ``w -= lr * update * sqrt(max(rows, cols)) * rms_rate`` (:meth:`lr_adjust`).

    Args:
        learning_rate: default 0.001; float, schedule or callable.
        adam_beta_1, adam_beta_2: default 0.9, 0.999; the AdamW step's betas.
        adam_weight_decay: default 0.004; the AdamW variables' decay (None for none).
        epsilon: default 1e-7; the AdamW step's epsilon.
        weight_decay: default 0.004; the Muon variables' decay (None for none).
        clipnorm, clipvalue, global_clipnorm: default None (see ``Optimizer``).
        name: default None (``'muon'``, ...).
        exclude_layers: default None; regular expressions of variable paths that use AdamW.
        exclude_embeddings: default True; embeddings use AdamW.
        muon_a, muon_b, muon_c: default 3.4445, -4.7750, 2.0315; the quintic's coefficients.
        adam_lr_ratio: default 1; the AdamW rate as a fraction of ``learning_rate``.
        momentum: default 0.95; the Muon momentum.
        ns_steps: default 5; Newton-Schulz iterations (an integer >= 0).
        nesterov: default True; Nesterov-style momentum.
        rms_rate: default 0.2; scales the update to AdamW's RMS (Liu et al., 2025); None
            turns the scaling off.
        **kwargs: the other ``Optimizer`` arguments (``use_ema``, ... and legacy ``lr``).
    """

    def __init__(
        self,
        learning_rate: Any = LR_0_001,
        adam_beta_1: float = 0.9,
        adam_beta_2: float = 0.999,
        adam_weight_decay: float | None = 0.004,
        epsilon: float = 1e-7,
        weight_decay: float | None = 0.004,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        exclude_layers: Sequence[str] | None = None,
        exclude_embeddings: bool = True,
        muon_a: float = 3.4445,
        muon_b: float = -4.7750,
        muon_c: float = 2.0315,
        adam_lr_ratio: float = 1,
        momentum: float = 0.95,
        ns_steps: int = 5,
        nesterov: bool = True,
        rms_rate: float | None = 0.2,
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
        self.adam_beta_1 = check_number("adam_beta_1", adam_beta_1, 0.0, 1.0, high_inclusive=False)
        self.adam_beta_2 = check_number("adam_beta_2", adam_beta_2, 0.0, 1.0)
        self.adam_weight_decay = None if adam_weight_decay is None else check_number(
            "adam_weight_decay", adam_weight_decay, low=0.0
        )  # fmt: skip
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        self.muon_a = check_number("muon_a", muon_a)
        self.muon_b = check_number("muon_b", muon_b)
        self.muon_c = check_number("muon_c", muon_c)
        self.adam_lr_ratio = check_number("adam_lr_ratio", adam_lr_ratio, low=0.0)
        self.momentum = check_number("momentum", momentum, 0.0, 1.0)
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, numbers.Integral) or ns_steps < 0:
            raise ValueError(
                f"Argument `ns_steps` must be an integer >= 0. Received: ns_steps={ns_steps!r}"
            )
        self.ns_steps = int(ns_steps)
        self.nesterov = bool(nesterov)
        self.exclude_embeddings = bool(exclude_embeddings)
        self.exclude_layers = _checked_patterns(exclude_layers)
        self.rms_rate = None if rms_rate is None else check_number("rms_rate", rms_rate)

    # --- which step a variable takes ----------------------------------------------------------

    def _should_use_adamw(self, variable: Any) -> bool:
        """Whether ``variable`` takes the AdamW step (Keras's rules, see the class docstring)."""
        if len(variable.shape) != 2:
            return True
        if self.exclude_embeddings and "embedding" in variable.path.lower():
            return True
        return any(re.search(pattern, variable.path) for pattern in self.exclude_layers)

    def _decay_for(self, variable: Any) -> float:
        # Keras: AdamW variables decay by adam_weight_decay, Muon ones by weight_decay, both
        # times the full learning rate; the exclusions apply to both.
        if id(variable) in self._exclude_ids:
            return 0.0
        if self._exclude_pattern is not None and self._exclude_pattern.search(variable.name):
            return 0.0
        index = self._index.get(id(variable))
        # Built variables answer from their slots (no regular expressions per step).
        if index is None:
            adamw = self._should_use_adamw(variable)
        else:
            adamw = "velocity" in self._slots[index]
        return (self.adam_weight_decay if adamw else self.weight_decay) or 0.0

    def _apply_weight_decay(self, variables: Sequence[Any]) -> None:
        """Decay ``variables`` now (``w -= w * decay * lr``) by the rule :meth:`_decay_for`."""
        for variable in variables:
            f = numpy.dtype(variable.value.dtype).type
            factor = f(self._decay_for(variable)) * f(self.learning_rate)
            variable.value[...] = variable.value - variable.value * factor

    # --- state --------------------------------------------------------------------------------

    def _build_extra_state(self) -> None:
        # Keras's order per variable: momentum, then velocity for the AdamW ones.
        xp = K.array_module()
        for index, variable in enumerate(self._trainable):
            slots = self._slots[index]
            slots["momentum"] = xp.zeros_like(variable.value)
            self._slot_order.append((index, "momentum"))
            if self._should_use_adamw(variable):
                slots["velocity"] = xp.zeros_like(variable.value)
                self._slot_order.append((index, "velocity"))
            else:
                slots["direction"] = xp.zeros_like(variable.value)  # scratch, not state

    # --- applying -----------------------------------------------------------------------------

    def _update_op(self) -> Any:
        return kernels.muon_momentum_op(nesterov=self.nesterov)

    def _flat_step(self, flat, factors, decay, glo, ghi, lr, op) -> None:
        # Two different steps and per-matrix orthogonalisation: one variable at a time.
        count = len(self._trainable)
        self._step_each(flat.grad_views, self._trainable, [factors] * count, glo, ghi, lr, op)

    def _step_each(self, grads_now, variables, factors, glo, ghi, lr, op) -> None:
        for grad, variable, (gmul, gdiv) in zip(grads_now, variables, factors, strict=True):
            prologue = (grad, gmul, gdiv, glo, ghi, self._decay_for(variable), lr)
            self._update_variable(prologue, variable, lr)

    def _update_variable(self, prologue: tuple, variable: Any, lr: float) -> None:
        value = variable.value
        slots = self._slots[self._index[id(variable)]]
        f = numpy.dtype(value.dtype).type
        if "velocity" in slots:
            scalars = self._adam_scalars(f(lr) * f(self.adam_lr_ratio), f)
            adam_kernels.adam_op(amsgrad=False)(
                *prologue, *scalars, value, slots["momentum"], slots["velocity"]
            )
            return
        momentum = (self.momentum, self.momentum - 1)
        kernels.muon_momentum_op(nesterov=self.nesterov)(
            *prologue, *momentum, value, slots["momentum"], slots["direction"]
        )
        update = self.zeropower_via_newtonschulz5(slots["direction"], self.ns_steps)
        one = self._constant(1.0, value.dtype)
        scale, rate = self._rms_scale(value.shape, f)
        kernels.scaled_step_op()(update, one, one, lr, scale, rate, value)

    def _adam_scalars(self, lr: Any, f: Any) -> tuple[float, ...]:
        step = f(self._updates + 1)
        beta_1_power, beta_2_power = f(self.adam_beta_1) ** step, f(self.adam_beta_2) ** step
        alpha = lr * numpy.sqrt(f(1) - beta_2_power) / (f(1) - beta_1_power)
        return (float(alpha), 1.0 - self.adam_beta_1, 1.0 - self.adam_beta_2, self.epsilon)

    def _rms_scale(self, shape: tuple[int, ...], f: Any) -> tuple[float, float]:
        """``(sqrt(max(rows, cols)), rms_rate)`` in the variable's float type; (1, 1) when off."""
        if self.rms_rate is None:
            return 1.0, 1.0
        return float(numpy.sqrt(f(max(shape[0], shape[1])))), self.rms_rate

    def update_step(self, gradient: Any, variable: Any, learning_rate: float) -> None:
        """One step of ``variable`` alone, unclipped and undecayed (Keras's ``update_step``)."""
        grad = self._as_gradient(gradient, variable)
        one = self._constant(1.0, grad.dtype)
        prologue = (grad, one, one, -math.inf, math.inf, 0.0, float(learning_rate))
        self._update_variable(prologue, variable, float(learning_rate))

    # --- the orthogonalisation ----------------------------------------------------------------

    def zeropower_via_newtonschulz5(self, x: Any, steps: int) -> Any:
        """An approximate ``U V^T`` of ``x = U S V^T`` over its last two axes: ``steps``
        iterations of the quintic ``X <- a X + (b A + c A A) X`` with ``A = X X^T``, after
        scaling ``x`` to a Frobenius norm of at most 1 (wide orientation, as Keras)."""
        x = K.to_device(getattr(x, "value", x))
        xp = K.get_array_module(x)
        if x.ndim < 2:
            raise ValueError(
                "Expected gradient or momentum to have at least 2 dimensions. "
                f"Received: shape={tuple(x.shape)}"
            )
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = xp.swapaxes(x, -1, -2)
        x = x / (xp.sqrt(xp.sum(xp.square(x), axis=(-2, -1), keepdims=True)) + 1e-7)
        for _ in range(steps):
            gram = x @ xp.swapaxes(x, -1, -2)
            # Keras's ``c * gram @ gram`` is ``(c * gram) @ gram``: same order, same rounding.
            x = a * x + (b * gram + (c * gram) @ gram) @ x
        return xp.swapaxes(x, -1, -2) if tall else x

    def lr_adjust(self, x: Any) -> Any:
        """``x * sqrt(max(rows, cols)) * rms_rate`` (``x`` itself when ``rms_rate`` is None)."""
        x = K.to_device(getattr(x, "value", x))
        if self.rms_rate is None:
            return x
        scale, rate = self._rms_scale(tuple(x.shape), numpy.dtype(x.dtype).type)
        return x * x.dtype.type(scale) * rate

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "adam_beta_1": self.adam_beta_1,
            "adam_beta_2": self.adam_beta_2,
            "epsilon": self.epsilon,
            "exclude_layers": list(self.exclude_layers),
            "muon_a": self.muon_a,
            "muon_b": self.muon_b,
            "muon_c": self.muon_c,
            "adam_lr_ratio": self.adam_lr_ratio,
            "momentum": self.momentum,
            "ns_steps": self.ns_steps,
            "nesterov": self.nesterov,
            "exclude_embeddings": self.exclude_embeddings,
            "adam_weight_decay": self.adam_weight_decay,
            "rms_rate": self.rms_rate,
        }


def _checked_patterns(patterns: Any) -> list[str]:
    """``exclude_layers`` as a list of compilable regular expressions."""
    if patterns is None:
        return []
    if isinstance(patterns, str) or not all(isinstance(p, str) for p in patterns):
        raise ValueError(
            f"Argument `exclude_layers` must be a list of strings. Received: "
            f"exclude_layers={patterns!r}"
        )
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(
                f"Argument `exclude_layers` holds an invalid regular expression ({error}). "
                f"Received: exclude_layers={patterns!r}"
            ) from None
    return list(patterns)
