"""One flat buffer per role, so an optimizer step is one kernel call over every parameter.

When an optimizer is built, the trainable variables' values and gradients are copied into two
flat buffers and each variable is pointed at its slice (a view with the variable's shape);
the optimizer's slots are slices of one flat buffer per slot name, laid out the same way.
Layers keep writing gradients into ``variable.grad`` and reading ``variable.value`` as before,
so nothing outside the optimizer changes, but the update kernel can then run once over the
whole model: one CuPy launch per step instead of one per variable, one C++ loop on the CPU.

The flat call is only an optimisation. Before each step :meth:`FlatParameters.holds` checks
that every variable and gradient is still the view it was given (a ``variable.value = ...``
elsewhere would silently detach it); if not, the optimizer updates variable by variable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gpukeras import backend as K


class FlatParameters:
    """Variables repacked as views of one value buffer and one gradient buffer."""

    def __init__(self, variables: Sequence[Any]) -> None:
        xp = K.array_module()
        self.dtype = variables[0].value.dtype
        self.shapes = [tuple(v.value.shape) for v in variables]
        self.bounds, start = [], 0
        for variable in variables:
            self.bounds.append((start, start + int(variable.value.size)))
            start += int(variable.value.size)
        self.values = xp.empty(start, dtype=self.dtype)
        self.grads = xp.empty(start, dtype=self.dtype)
        self.value_views = self.views(self.values)
        self.grad_views = self.views(self.grads)
        for variable, value, grad in zip(variables, self.value_views, self.grad_views):
            value[...] = variable.value
            grad[...] = variable.grad
            variable.value, variable.grad = value, grad

    @staticmethod
    def fits(variables: Sequence[Any]) -> bool:
        """Whether ``variables`` can share buffers: distinct, one dtype, on this backend, and
        each with a gradient array of its own shape (no None: packing must not invent one)."""
        if not variables or len({id(v) for v in variables}) != len(variables):
            return False
        xp, dtype = K.array_module(), variables[0].value.dtype
        for variable in variables:
            value, grad = variable.value, getattr(variable, "grad", None)
            if K.get_array_module(value) is not xp or value.dtype != dtype:
                return False
            if grad is None or K.get_array_module(grad) is not xp or grad.shape != value.shape:
                return False
        return True

    def views(self, flat: Any) -> list[Any]:
        """``flat`` cut into one view per variable, shaped like it."""
        return [flat[a:b].reshape(shape) for (a, b), shape in zip(self.bounds, self.shapes)]

    def new_slot(self, initial: float) -> tuple[Any, list[Any]]:
        """A flat slot buffer filled with ``initial``, and its per-variable views."""
        flat = K.array_module().full(self.values.shape, initial, dtype=self.dtype)
        return flat, self.views(flat)

    def holds(self, variables: Sequence[Any], grads: Sequence[Any]) -> bool:
        """Whether this step's variables and gradients are exactly the packed views, in order."""
        if len(variables) != len(self.value_views):
            return False
        for variable, grad, value_view, grad_view in zip(
            variables, grads, self.value_views, self.grad_views
        ):
            if variable.value is not value_view or grad is not grad_view:
                return False
        return True
