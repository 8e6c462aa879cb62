"""Multiply: the product of a list of inputs."""

from __future__ import annotations

import functools
from typing import Any

from gpukeras.layers._serialization import register
from gpukeras.layers.merging._base import Merge


@register
class Multiply(Merge):
    """Multiplies a list of inputs element by element (Keras 3's ``keras.layers.Multiply``).

    With masks (a list, one per input, ``None`` for an unmasked one) a masked entry counts
    as 1, and where every input is masked the output is 0, as in Keras.

    Example:
        ```python
        gated = gpukeras.layers.Multiply()([x, gate])
        ```

    Args:
        **kwargs: :class:`Layer` arguments (``name``, ``dtype``, ...).
    """

    call_state = ("_input_shapes", "_inputs", "_masks", "_output_mask")

    def _merge(self, xp: Any, inputs: list[Any]) -> Any:
        # Keras: a masked entry counts as 1; where every input has a mask, entries that
        # no mask keeps are 0.
        self._masks = self._value_masks(xp, inputs)
        self._output_mask = None
        if self._masks is not None:
            inputs = [x if m is None else xp.where(m, x, 1.0) for x, m in zip(inputs, self._masks)]
            self._inputs = inputs
            if all(m is not None for m in self._masks):
                self._output_mask = functools.reduce(xp.logical_or, self._masks)
        output = inputs[0] * inputs[1] if len(inputs) > 1 else inputs[0].copy()
        for x in inputs[2:]:
            output *= x
        if self._output_mask is not None:
            output = xp.where(self._output_mask, output, 0.0)
        return output

    def _merge_grads(self, xp: Any, grad: Any) -> list[Any]:
        if self._output_mask is not None:
            grad = grad * self._output_mask
        grads = self._product_grads(grad)
        if self._masks is None:
            return grads
        return [g if m is None else g * m for g, m in zip(grads, self._masks)]

    def _product_grads(self, grad: Any) -> list[Any]:
        # The product of the others from prefix and suffix products: no division, so an
        # input of zero still gets its gradient.
        inputs = self._inputs
        before, running = [], None
        for x in inputs:
            before.append(running)
            running = x if running is None else running * x
        grads: list[Any] = [None] * len(inputs)
        after = None
        for i in reversed(range(len(inputs))):
            grads[i] = grad
            for other in (before[i], after):
                if other is not None:
                    grads[i] = grads[i] * other
            after = inputs[i] if after is None else inputs[i] * after
        return grads


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional interface to :class:`Multiply`: ``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)
