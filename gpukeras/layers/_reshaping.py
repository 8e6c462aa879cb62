"""Flatten and Reshape: views of the same numbers with another shape."""

from __future__ import annotations

import math
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.layers._layer import Layer, Shape


class Flatten(Layer):
    """Flattens each sample to one axis: ``(N, d1, d2, ...)`` -> ``(N, d1*d2*...)``.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``; default
            ``backend.image_data_format()`` (keras.json's, else channels-last);
            channels_first inputs are transposed to channels_last order
            first, as Keras does, so weights after it match Keras's.
        **kwargs: :class:`Layer` arguments.
    """

    call_state = ("_shape", "_moved_shape")

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(
                "data_format must be 'channels_last' or 'channels_first'. "
                f"Received: data_format={data_format!r}"
            )
        self.data_format = data_format or K.image_data_format()

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def forward(self, x: Any, training: bool = False) -> Any:
        self._shape = x.shape
        if self.data_format == "channels_first" and x.ndim > 2:
            x = x.transpose(0, *range(2, x.ndim), 1)
        self._moved_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad: Any) -> Any:
        grad = grad.reshape(self._moved_shape)
        if self.data_format == "channels_first" and grad.ndim > 2:
            grad = grad.transpose(0, grad.ndim - 1, *range(1, grad.ndim - 1))
        return grad

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1).

    Args:
        target_shape: Tuple of ints, the shape of one sample. Required.
        **kwargs: :class:`Layer` arguments.
    """

    call_state = ("_shape",)

    def __init__(self, target_shape: Shape, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = tuple(target_shape) if isinstance(target_shape, (tuple, list)) else None
        if (
            target is None
            or not all(
                isinstance(d, (int, numpy.integer))
                and not isinstance(d, bool)
                and (d > 0 or d == -1)
                for d in target
            )
            or target.count(-1) > 1
        ):
            raise ValueError(
                "target_shape must be a tuple of positive ints with at most one -1. "
                f"Received: target_shape={target_shape!r}"
            )
        self.target_shape = tuple(int(d) for d in target)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return (input_shape[0], *self.target_shape)
        size = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not fits:
            raise ValueError(
                f"Reshape {self.name!r} cannot turn samples of shape {tuple(rest)} "
                f"({size} values) into target_shape={self.target_shape}"
            )
        out = tuple(size // known if d == -1 else d for d in self.target_shape)
        return (input_shape[0], *out)

    def forward(self, x: Any, training: bool = False) -> Any:
        self._shape = x.shape
        return x.reshape(x.shape[0], *self.target_shape)

    def backward(self, grad: Any) -> Any:
        return grad.reshape(self._shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
