"""Subtract: the first of two inputs minus the second."""

from __future__ import annotations

from typing import Any

from gpukeras.layers._serialization import register
from gpukeras.layers.merging._base import Merge


@register
class Subtract(Merge):
    """``inputs[0] - inputs[1]`` for exactly two inputs (Keras 3's ``keras.layers.Subtract``).

    Example:
        ```python
        difference = gpukeras.layers.Subtract()([x1, x2])
        ```

    Args:
        **kwargs: :class:`Layer` arguments (``name``, ``dtype``, ...).
    """

    input_count = 2

    def _merge(self, xp: Any, inputs: list[Any]) -> Any:
        return inputs[0] - inputs[1]

    def _merge_grads(self, xp: Any, grad: Any) -> list[Any]:
        return [grad, -grad]


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional interface to :class:`Subtract`: ``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)
