"""What happens to the gradients before the update, beyond clipping: Keras's
``overwrite_with_gradient`` variables, ``loss_scale_factor``, ``gradient_accumulation_steps``;
and what happens after it: each variable's ``constraint``.

None of it reads the device: whether a step is an update step follows from the host step
count, as the fused kernels' scalars do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gpukeras import backend as K
from gpukeras.variables import Variable


def _overwrites(variable: Any) -> bool:
    return bool(getattr(variable, "overwrite_with_gradient", False))


class GradientAccumulation:
    """Mixin of ``Optimizer`` (needs ``_iterations``, ``_slots``, ``_index``)."""

    gradient_accumulation_steps: int | None
    loss_scale_factor: float | None
    _iterations: int
    _slots: list[dict[str, Any]]
    _index: dict[int, int]
    _trainable: list[Variable]
    _flat: Any
    _flat_slots: dict[str, Any]

    def _plain_step(self, variables: Sequence[Variable]) -> bool:
        """Whether this step is just clip, decay and update (the fused path)."""
        if self.gradient_accumulation_steps or self.loss_scale_factor is not None:
            return False
        return not any(_overwrites(v) for v in variables)

    @property
    def _accumulated_gradients(self) -> list[Any]:
        """The running gradient sums, one per trainable variable (Keras's name)."""
        if not self.gradient_accumulation_steps:
            return []
        return [
            self._slot_variable("gradient_accumulator", slots["gradient_accumulator"])
            for slots in self._slots
        ]

    def _is_update_step(self) -> bool:
        steps = self.gradient_accumulation_steps
        return not steps or (self._iterations + 1) % steps == 0

    def _prepared(self, grads: list[Any], variables: list[Variable]) -> tuple[list, list]:
        """The gradients and variables the update step gets, after overwriting, unscaling and
        accumulating; empty lists when this call only accumulates."""
        grads, variables = self._overwrite_with_gradients(grads, variables)
        flat = self._flat
        if flat is not None and flat.holds(variables, grads):
            return self._prepared_flat(flat, grads, variables)
        if self.loss_scale_factor is not None:
            grads = [g / g.dtype.type(self.loss_scale_factor) for g in grads]
        if not self.gradient_accumulation_steps or not grads:
            return grads, variables
        accumulators = [self._slots[self._index[id(v)]]["gradient_accumulator"] for v in variables]
        if not self._is_update_step():
            for grad, accumulator in zip(grads, accumulators, strict=True):
                accumulator += grad
            return [], []
        steps = self.gradient_accumulation_steps
        mean = [(g + a) / g.dtype.type(steps) for g, a in zip(grads, accumulators, strict=True)]
        for accumulator in accumulators:
            accumulator.fill(0)
        return mean, variables

    def _prepared_flat(self, flat: Any, grads: list[Any], variables: list[Variable]) -> tuple:
        """:meth:`_prepared` on the packed gradient buffer, in place (it is the variables' own
        ``.grad``, rewritten by the next backward pass anyway): the gradients stay the flat
        views, so the update is still one fused kernel call. Same arithmetic, same bits."""
        g = flat.grads
        xp = K.get_array_module(g)
        if self.loss_scale_factor is not None:
            xp.divide(g, g.dtype.type(self.loss_scale_factor), out=g)
        if not self.gradient_accumulation_steps:
            return grads, variables
        accumulator = self._flat_slots["gradient_accumulator"]
        if not self._is_update_step():
            accumulator += g
            return [], []
        g += accumulator
        xp.divide(g, g.dtype.type(self.gradient_accumulation_steps), out=g)
        accumulator.fill(0)
        return grads, variables

    def _overwrite_with_gradients(self, grads: list[Any], variables: list[Variable]) -> tuple:
        """Variables with ``overwrite_with_gradient`` take their gradient as their value (with
        accumulation: the largest gradient seen, on update steps) and leave the update."""
        if not any(_overwrites(v) for v in variables):
            return grads, variables
        xp = K.array_module()
        kept_grads, kept_variables = [], []
        for grad, variable in zip(grads, variables, strict=True):
            if not _overwrites(variable):
                kept_grads.append(grad)
                kept_variables.append(variable)
            elif not self.gradient_accumulation_steps:
                variable.assign(grad)
            else:
                accumulator = self._slots[self._index[id(variable)]]["gradient_accumulator"]
                largest = xp.maximum(grad, accumulator)
                if self._is_update_step():
                    variable.assign(largest)
                    accumulator.fill(0)
                else:
                    accumulator[...] = largest
        return kept_grads, kept_variables

    @staticmethod
    def _apply_constraints(variables: Sequence[Variable]) -> None:
        """After the update, as Keras: ``variable.assign(variable.constraint(variable))``."""
        for variable in variables:
            constraint = getattr(variable, "constraint", None)
            if constraint is not None:
                variable.assign(constraint(variable.value))
