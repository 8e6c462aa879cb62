"""Multiply: the product of a list of inputs."""

from __future__ import annotations

from typing import Any

from gpukeras.layers._serialization import register
from gpukeras.layers.merging._base import Merge


@register
class Multiply(Merge):
    """Multiplies a list of inputs element by element (Keras 3's ``keras.layers.Multiply``).

    Example:
        ```python
        gated = gpukeras.layers.Multiply()([x, gate])
        ```

    Args:
        **kwargs: :class:`Layer` arguments (``name``, ``dtype``, ...).
    """

    def _merge(self, xp: Any, inputs: list[Any]) -> Any:
        output = inputs[0] * inputs[1] if len(inputs) > 1 else inputs[0].copy()
        for x in inputs[2:]:
            output *= x
        return output

    def _merge_grads(self, xp: Any, grad: Any) -> list[Any]:
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
