"""Keras's activation layers with parameters: LeakyReLU, ELU, ReLU, ThresholdedReLU, Softmax.

Each is an elementwise activation from ``gpukeras.activations`` bound to the layer's
parameters, with that activation's hand-written derivative as its backward pass
(Softmax, which also honours a mask, has its own). PReLU, which has a weight, lives in
``_prelu.py``.
"""

from __future__ import annotations

from typing import Any

from gpukeras import activations
from gpukeras import backend as K
from gpukeras._legacy import legacy_arguments
from gpukeras.layers._layer import Layer
from gpukeras.layers._serialization import register


def _non_negative(owner: str, name: str, value: Any, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not is_number or value < 0:
        raise ValueError(
            f"The {name} value of a {owner} layer cannot be None or a negative value. "
            f"Expected a float >= 0. Received: {name}={value!r}"
        )
    return float(value)


class _BoundActivation(Layer):
    """An activation function with fixed parameters, as a layer."""

    supports_masking = True
    call_state = ("_x", "_y")

    def __init__(self, function: str, params: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._function = activations.get(function).with_params(**params)

    def forward(self, x: Any, training: bool = False) -> Any:
        self._x = x
        self._y = self._function.forward(x)
        return self._y

    def backward(self, grad: Any) -> Any:
        return self._function.backward(self._x, self._y, grad)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


@register
class LeakyReLU(_BoundActivation):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below.

    Args:
        negative_slope: Float >= 0; default 0.3. Keras 1/2's ``alpha`` is accepted
            with a DeprecationWarning.
        **kwargs: :class:`Layer` arguments.
    """

    @legacy_arguments("LeakyReLU", {"alpha": ("negative_slope", None)})
    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)
        super().__init__("leaky_relu", {"negative_slope": self.negative_slope}, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register
class ELU(_BoundActivation):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below.

    Args:
        alpha: Scale of the negative part; default 1.0.
        **kwargs: :class:`Layer` arguments.
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise ValueError(f"ELU's alpha must be a float. Received: alpha={alpha!r}")
        self.alpha = float(alpha)
        super().__init__("elu", {"alpha": self.alpha}, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


@register
class ReLU(_BoundActivation):
    """Rectified linear unit with Keras's options.

    ``max_value`` for ``x >= max_value``, ``x`` for ``threshold <= x < max_value``,
    ``negative_slope * (x - threshold)`` below.

    Args:
        max_value: Float >= 0 or None (no ceiling); default None.
        negative_slope: Float >= 0; default 0.0.
        threshold: Float >= 0; default 0.0.
        **kwargs: :class:`Layer` arguments.
    """

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ) -> None:
        self.max_value = _non_negative("ReLU", "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)
        params = {
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }
        super().__init__("relu", params, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


@register
class ThresholdedReLU(_BoundActivation):
    """Keras 2's ``x`` for ``x > theta``, 0 otherwise (Keras 3: ``ReLU(threshold=theta)``).

    Args:
        theta: Float >= 0; default 1.0.
        **kwargs: :class:`Layer` arguments.
    """

    def __init__(self, theta: float = 1.0, **kwargs: Any) -> None:
        self.theta = _non_negative("ThresholdedReLU", "theta", theta)
        super().__init__("relu", {"threshold": self.theta}, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "theta": self.theta}


@register
class Softmax(Layer):
    """Softmax over ``axis`` (an int or a tuple of ints); masked positions get 0.

    A mask (from an earlier layer, broadcast against the input from the right, as in
    Keras) keeps the positions where it is true: the others are left out of the sum
    and output 0.

    Args:
        axis: The axis or axes normalised over; default -1.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ("_y", "_keep")

    def __init__(self, axis: int | tuple[int, ...] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ValueError(f"Softmax's axis must be an int or ints. Received: axis={axis!r}")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self._axes = axes

    def _mask_for(self, x: Any) -> Any:
        mask = self.input_mask
        if mask is None:
            return None
        if mask.ndim > x.ndim or any(
            m != 1 and m != i for m, i in zip(mask.shape[::-1], x.shape[::-1])
        ):
            raise ValueError(
                "The `mask` must be broadcastable to `inputs`. Received: "
                f"inputs.shape={tuple(x.shape)}, mask.shape={tuple(mask.shape)}"
            )
        return mask if mask.dtype == bool else mask > 0.5

    def forward(self, x: Any, training: bool = False) -> Any:
        xp = K.get_array_module(x)
        self._keep = self._mask_for(x)
        if self._keep is not None:
            x = xp.where(self._keep, x, -1e9 if x.dtype.itemsize > 2 else -3e4)
        shifted = xp.exp(x - x.max(axis=self._axes, keepdims=True))
        y = shifted / shifted.sum(axis=self._axes, keepdims=True)
        self._y = y if self._keep is None else xp.where(self._keep, y, 0.0).astype(y.dtype)
        return self._y

    def backward(self, grad: Any) -> Any:
        y = self._y
        return y * (grad - (grad * y).sum(axis=self._axes, keepdims=True))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
