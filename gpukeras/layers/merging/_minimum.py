"""Minimum: the element-wise minimum of a list of inputs."""

from __future__ import annotations

from typing import Any

from gpukeras.layers._serialization import register
from gpukeras.layers.merging._extremum import Extremum


@register
class Minimum(Extremum):
    """The element-wise minimum of a list of inputs (Keras 3's ``keras.layers.Minimum``).

    Example:
        ```python
        y = gpukeras.layers.Minimum()([x1, x2])
        ```

    Args:
        **kwargs: :class:`Layer` arguments (``name``, ``dtype``, ...).
    """

    def _pick(self, xp: Any, a: Any, b: Any) -> Any:
        return xp.minimum(a, b)

    def _wins(self, a: Any, b: Any) -> Any:
        return a < b


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional interface to :class:`Minimum`: ``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)
