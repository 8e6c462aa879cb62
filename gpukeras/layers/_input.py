"""Input and InputLayer: declare the shape of one sample at the start of a model."""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.layers._keras_tensor import KerasTensor
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._node import Node


class InputLayer(Layer):
    """The entry point of a model; passes its input through unchanged.

    Args:
        shape: Shape of one sample, without the batch axis; default ``None``
            (then ``batch_shape`` is required).
        batch_size: Fixed batch size; default ``None`` (any).
        dtype: Input dtype; default ``backend.floatx()``.
        batch_shape: Shape including the batch axis; default ``None``.
        name: Default ``input_layer``, ``input_layer_1``, ...
    """

    call_state = ()  # the identity keeps nothing

    def __init__(
        self,
        shape: Shape | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        batch_shape: Shape | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        input_shape = kwargs.pop("input_shape", None)
        if shape is None and input_shape is not None:
            shape = input_shape
        kwargs.pop("sparse", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.batch_input_shape = _validated_batch_shape(shape, batch_size, batch_shape)
        self.build(self.batch_input_shape)
        self.input_shape = self.batch_input_shape
        self.built = True
        # Its one node: the graph's walk back from a model's outputs ends here.
        Node(self, (), {}, KerasTensor(self.batch_input_shape, self.dtype, name=self.name))

    @property
    def input(self) -> Any:
        return self.output  # Keras: an InputLayer's input and output are its tensor

    @property
    def batch_shape(self) -> Shape:
        return self.batch_input_shape

    def forward(self, x: Any, training: bool = False) -> Any:
        return x

    def backward(self, grad: Any) -> Any:
        return grad

    def get_config(self) -> dict[str, Any]:
        return {
            "batch_shape": list(self.batch_input_shape),
            "dtype": self.dtype,
            "sparse": False,
            "name": self.name,
        }


def Input(  # noqa: N802 - Keras's public name
    shape: Shape | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: bool | None = None,
    batch_shape: Shape | None = None,
    name: str | None = None,
) -> KerasTensor:
    """A symbolic input: the start of a functional ``Model(inputs, outputs)`` (or of a
    ``Sequential``). Returns a :class:`KerasTensor` of shape ``(batch_size, *shape)``.

    Args: as :class:`InputLayer`; ``sparse`` must be falsy (sparse inputs are
    not supported).
    """
    if sparse:
        raise ValueError(f"Sparse inputs are not supported. Received: sparse={sparse!r}")
    layer = InputLayer(
        shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name
    )
    return layer.output


def _validated_batch_shape(shape: Any, batch_size: Any, batch_shape: Any) -> Shape:
    if shape is not None and batch_shape is not None:
        raise ValueError(
            f"Pass `shape` or `batch_shape`, not both. Received: shape={shape!r}, "
            f"batch_shape={batch_shape!r}"
        )
    if shape is None and batch_shape is None:
        raise ValueError("Input needs a `shape` (or `batch_shape`). Received: shape=None")
    if batch_shape is None:
        shape = (shape,) if isinstance(shape, (int, numpy.integer)) else shape
        if not isinstance(shape, (tuple, list)):
            raise ValueError(f"shape must be a tuple of ints. Received: shape={shape!r}")
        batch_shape = (batch_size, *shape)
    batch_shape = tuple(None if d is None else d for d in batch_shape)
    for d in batch_shape:
        if d is not None and (not isinstance(d, (int, numpy.integer)) or d < 1):
            raise ValueError(
                f"Every input dimension must be a positive int or None. "
                f"Received: shape={batch_shape[1:]!r}"
            )
    return tuple(None if d is None else int(d) for d in batch_shape)
