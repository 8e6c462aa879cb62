"""Argument checks and size arithmetic shared by the convolution, pooling and padding layers.

Sizes follow Keras 3 (and TensorFlow): ``'same'`` pads ``total = max((out-1)*s + k_eff - n, 0)``
with ``total // 2`` before and the rest after; ``'causal'`` pads ``k_eff - 1`` before.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.backend.kernels.conv import relu_in_place

DATA_FORMATS = ("channels_last", "channels_first")


def data_format_from_dim_ordering(value: Any) -> Any:
    """Keras 1's ``dim_ordering`` ('th', 'tf', or 'default': keras.json's) as a data_format."""
    return {"tf": "channels_last", "th": "channels_first", "default": None}.get(value, value)


#: Keras 1's ``dim_ordering=`` on every image layer, for ``@legacy_arguments``.
LEGACY_DIM_ORDERING = {"dim_ordering": ("data_format", data_format_from_dim_ordering)}


def normalize_tuple(value: Any, rank: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """``value`` (an int or ``rank`` ints) as a tuple of ``rank`` positive ints.

    Args:
        value: The argument as the user passed it.
        rank: How many spatial dimensions the layer has.
        name: The argument's name, for the error message.
        allow_zero: Whether 0 is allowed (paddings, croppings); default ``False``.
    """
    items = (value,) * rank if is_int(value) else value
    valid = isinstance(items, (tuple, list)) and len(items) == rank and all(map(is_int, items))
    smallest = 0 if allow_zero else 1
    if not valid or any(int(v) < smallest for v in items):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"The `{name}` argument must be a {kind} int or a tuple of {rank} {kind} ints. "
            f"Received: {name}={value!r}"
        )
    return tuple(int(v) for v in items)


def normalize_padding(value: Any, allow_causal: bool = False) -> str:
    """``'valid'`` or ``'same'`` (or ``'causal'`` where allowed), case-insensitive."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(
            f"The `padding` argument must be one of {', '.join(map(repr, allowed))}. "
            f"Received: padding={value!r}"
        )
    return padding


def normalize_data_format(value: Any) -> str:
    """``'channels_last'`` or ``'channels_first'``; ``None`` is the backend's
    ``image_data_format()`` (keras.json's, channels-last unless set), as in Keras."""
    if value is None:
        return K.image_data_format()
    data_format = value.lower() if isinstance(value, str) else value
    if data_format not in DATA_FORMATS:
        raise ValueError(
            "The `data_format` argument must be one of 'channels_last', 'channels_first'. "
            f"Received: data_format={value!r}"
        )
    return data_format


def check_input_rank(layer: Any, input_shape: tuple[Any, ...], rank: int) -> None:
    """A layer with ``rank`` spatial axes needs inputs of rank ``rank + 2``."""
    if len(input_shape) != rank + 2:
        raise ValueError(
            f"Input of layer {layer.name!r} ({type(layer).__name__}) must have rank {rank + 2} "
            f"(batch, {rank} spatial axes, channels). Received: input_shape={tuple(input_shape)}"
        )


def channel_axis(data_format: str, ndim: int) -> int:
    return 1 if data_format == "channels_first" else ndim - 1


def spatial_dims(input_shape: tuple[Any, ...], data_format: str) -> tuple[Any, ...]:
    """The spatial sizes of a batch shape."""
    return tuple(input_shape[2:] if data_format == "channels_first" else input_shape[1:-1])


def with_spatial(
    input_shape: tuple[Any, ...], data_format: str, spatial: tuple[Any, ...], channels: Any
) -> tuple[Any, ...]:
    """A batch shape with new spatial sizes and channel count."""
    if data_format == "channels_first":
        return (input_shape[0], channels, *spatial)
    return (input_shape[0], *spatial, channels)


def window_padding(
    size: int, kernel: int, stride: int, dilation: int, padding: str
) -> tuple[int, int]:
    """(output size, zeros before) of a sliding window along one axis of length ``size``."""
    span = (kernel - 1) * dilation + 1
    if padding == "same":
        out = -(-size // stride)
        return out, max((out - 1) * stride + span - size, 0) // 2
    if padding == "causal":
        return (size - 1) // stride + 1, span - 1
    return (size - span) // stride + 1, 0


def output_size(
    layer: Any, size: Any, kernel: int, stride: int, dilation: int, padding: str, argument: str
) -> Any:
    """The output length along one axis; a clear error when the window does not fit."""
    if size is None:
        return None
    out, _ = window_padding(int(size), kernel, stride, dilation, padding)
    if out < 1:
        span = (kernel - 1) * dilation + 1
        raise ValueError(
            f"Layer {layer.name!r}: the {argument} (spanning {span} with dilation "
            f"{dilation}) is larger than the padded input along an axis of size {size} "
            f"with padding={padding!r}. Received: {argument}={kernel}, input size {size}"
        )
    return out


def is_int(value: Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and value.dtype.kind in "iu")
    )


def to_nhwc(x: Any, rank: int, data_format: str) -> Any:
    """The input as a channels-last 4-D view: 1-D layers get a height of 1."""
    if data_format == "channels_first":
        x = x.transpose(0, *range(2, x.ndim), 1)
    return x[:, None] if rank == 1 else x


def from_nhwc(y: Any, rank: int, data_format: str) -> Any:
    """Undo :func:`to_nhwc` on a channels-last 4-D result (contiguous when transposed)."""
    if rank == 1:
        y = y[:, 0]
    if data_format == "channels_first":
        xp = K.get_array_module(y)
        y = xp.ascontiguousarray(y.transpose(0, y.ndim - 1, *range(1, y.ndim - 1)))
    return y


class Buffers:
    """Scratch arrays a layer reuses from step to step, one per (role, shape, dtype).

    For arrays that never leave the layer (im2col rows, their gradients), and for outputs
    only through :func:`output_array` (while the training step allows it). Each role keeps
    its two most recent shapes (training batches and the last partial or evaluation batch).
    """

    PER_ROLE = 2

    def __init__(self) -> None:
        self._arrays: dict[tuple[Any, ...], Any] = {}

    def get(self, role: str, shape: tuple[int, ...], dtype: Any) -> Any:
        key = (K.backend(), role, tuple(shape), str(dtype))
        array = self._arrays.get(key)
        if array is None:
            same_role = [k for k in self._arrays if k[1] == role]
            if len(same_role) >= self.PER_ROLE:  # shapes changed: drop the oldest
                self._arrays.pop(same_role[0])
            array = K.array_module().empty(shape, dtype=dtype)
            self._arrays[key] = array
        return array


def output_array(layer: Any, role: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """An array for an output (or returned gradient) of ``layer``.

    While the training step sets ``layer.scratch_outputs`` (its activations and gradients
    are consumed within the step), a buffer reused from step to step; otherwise a new
    array, since callers may keep what a layer returns.
    """
    if getattr(layer, "scratch_outputs", False):
        return layer._buffers.get(role, shape, dtype)
    return K.array_module().empty(shape, dtype=dtype)


def zeros(shape: tuple[int, ...], dtype: Any) -> Any:
    """Zeros without ``numpy.zeros``: a large calloc maps fresh pages that then fault in
    one by one (several times slower than filling reused heap memory)."""
    array = K.array_module().empty(shape, dtype=dtype)
    array.fill(0)
    return array


def is_plain_relu(activation: Any) -> bool:
    """Whether ``activation`` is ``relu`` with its default arguments."""
    return getattr(activation, "name", None) == "relu" and activation.has_default_params


def activate(activation: Any, z: Any) -> Any:
    """``activation(z)``; a plain ReLU overwrites ``z`` (its backward only needs the output)."""
    if is_plain_relu(activation):
        xp = K.get_array_module(z)
        if xp is numpy:
            return relu_in_place(z)
        return xp.maximum(z, 0.0, out=z)
    return activation.forward(z)


def activation_backward(activation: Any, z: Any, y: Any, grad: Any, out: Any = None) -> Any:
    """The gradient through ``activation``; a plain ReLU in one pass (``grad * (y > 0)``).

    Args:
        activation: The layer's activation.
        z: Its input (pre-activation).
        y: Its output.
        grad: The gradient with respect to ``y``.
        out: Buffer shaped like ``grad`` for a plain ReLU's result; default ``None`` (new).
    """
    if is_plain_relu(activation):
        return K.get_array_module(grad).multiply(grad, y > 0, out=out)
    return activation.backward(z, y, grad)
