"""Add: the sum of a list of inputs."""

from __future__ import annotations

from typing import Any

from gpukeras.layers._serialization import register
from gpukeras.layers.merging._base import Merge


@register
class Add(Merge):
    """Adds a list of inputs element by element (Keras 3's ``keras.layers.Add``).

    Inputs of different ranks or with axes of size 1 broadcast as in Keras: lower-rank
    inputs gain axes after the batch axis.

    Example:
        ```python
        y = gpukeras.layers.Add()([x1, x2])
        ```

    Args:
        **kwargs: :class:`Layer` arguments (``name``, ``dtype``, ...).
    """

    def _merge(self, xp: Any, inputs: list[Any]) -> Any:
        output = inputs[0] + inputs[1] if len(inputs) > 1 else inputs[0].copy()
        for x in inputs[2:]:
            output += x
        return output

    def _merge_grads(self, xp: Any, grad: Any) -> list[Any]:
        return [grad] * len(self._inputs)


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional interface to :class:`Add`: ``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)
