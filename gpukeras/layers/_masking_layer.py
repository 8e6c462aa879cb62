"""Masking: skip the timesteps whose features all equal ``mask_value``."""

from __future__ import annotations

from typing import Any

from gpukeras.layers._layer import Layer
from gpukeras.layers._serialization import register


@register
class Masking(Layer):
    """Masks timesteps of ``(N, steps, features)`` inputs whose features all equal
    ``mask_value``: their output is 0 and later layers (RNNs, pooling) skip them.

    Args:
        mask_value: The padding value; default ``0.0``.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ("_keep",)

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)
        self._keep: Any = None

    def _step_mask(self, x: Any) -> Any:
        return (x != self.mask_value).any(axis=-1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return self._step_mask(inputs)

    def forward(self, x: Any, training: bool = False) -> Any:
        self._keep = self._step_mask(x)[..., None].astype(x.dtype)
        return x * self._keep

    def backward(self, grad: Any) -> Any:
        return grad * self._keep

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}


@register
class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum(|x|) + l2 * sum(x**2)`` of its output to the loss.

    Args:
        l1, l2: Non-negative factors; default ``0.0``.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ()

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        from gpukeras import regularizers  # noqa: PLC0415 - keeps layer imports light

        kwargs.pop("activity_regularizer", None)  # it is this layer's own (l1, l2)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def forward(self, x: Any, training: bool = False) -> Any:
        return x

    def backward(self, grad: Any) -> Any:
        return grad

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
