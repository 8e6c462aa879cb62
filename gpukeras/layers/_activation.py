"""Activation: applies an activation function as its own layer."""

from __future__ import annotations

from typing import Any

from gpukeras import activations
from gpukeras.layers._layer import Layer


class Activation(Layer):
    """Applies ``activation`` to its input.

    Args:
        activation: Activation name (``'relu'``, ``'softmax'``, ...) or
            function. Required.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ("_x", "_y")

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, x: Any, training: bool = False) -> Any:
        self._x = x
        self._y = self.activation.forward(x)
        return self._y

    def backward(self, grad: Any) -> Any:
        return self.activation.backward(self._x, self._y, grad)

    def backward_preactivation(self, grad_z: Any) -> Any:
        """Backward from the gradient w.r.t. this layer's input (fused-loss entry)."""
        return grad_z

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
