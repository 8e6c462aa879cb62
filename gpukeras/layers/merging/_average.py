"""Average: the mean of a list of inputs."""

from __future__ import annotations

from typing import Any

from gpukeras.layers._serialization import register
from gpukeras.layers.merging._base import Merge


@register
class Average(Merge):
    """The element-wise mean of a list of inputs (Keras 3's ``keras.layers.Average``).

    Example:
        ```python
        y = gpukeras.layers.Average()([x1, x2, x3])
        ```

    Args:
        **kwargs: :class:`Layer` arguments (``name``, ``dtype``, ...).
    """

    def _merge(self, xp: Any, inputs: list[Any]) -> Any:
        output = inputs[0] + inputs[1] if len(inputs) > 1 else inputs[0].copy()
        for x in inputs[2:]:
            output += x
        return output / len(inputs)  # Keras divides the sum (not a scaled sum)

    def _merge_grads(self, xp: Any, grad: Any) -> list[Any]:
        return [grad / len(self._inputs)] * len(self._inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional interface to :class:`Average`: ``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)
