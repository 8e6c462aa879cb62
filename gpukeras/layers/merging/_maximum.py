"""Maximum: the element-wise maximum of a list of inputs."""

from __future__ import annotations

from typing import Any

from gpukeras.layers._serialization import register
from gpukeras.layers.merging._extremum import Extremum


@register
class Maximum(Extremum):
    """The element-wise maximum of a list of inputs (Keras 3's ``keras.layers.Maximum``).

    Example:
        ```python
        y = gpukeras.layers.Maximum()([x1, x2])
        ```

    Args:
        **kwargs: :class:`Layer` arguments (``name``, ``dtype``, ...).
    """

    def _pick(self, xp: Any, a: Any, b: Any) -> Any:
        return xp.maximum(a, b)

    def _wins(self, a: Any, b: Any) -> Any:
        return a > b


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional interface to :class:`Maximum`: ``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)
