"""Merge: the base of the layers that combine a list of inputs element by element.

Keras 3's broadcasting rule (``keras/src/layers/merging/base_merge.py``): inputs of
lower rank gain axes right after the batch axis until every input has the same rank,
then axes of size 1 broadcast. The backward pass undoes both: a gradient is summed over
the axes its input was broadcast along, then reshaped to the input's own shape.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.layers._layer import Layer

Shape = tuple[Any, ...]


class Merge(Layer):
    """Base of Add, Subtract, Multiply, Average, Maximum, Minimum (not public).

    A subclass implements ``_merge(xp, inputs)`` on inputs of equal rank and
    ``_merge_grads(xp, grad)``, the gradient of each (rank-expanded) input, each of a
    shape that broadcasts to the output's.
    """

    supports_masking = True
    #: Inputs the layer takes exactly (Subtract: 2); ``None`` for one or more.
    input_count: int | None = None
    # What backward reads: the inputs' shapes, and the rank-expanded inputs themselves.
    call_state = ("_input_shapes", "_inputs")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._input_shapes: list[Shape] = []
        self._inputs: list[Any] = []

    # -- shapes ----------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)  # validation only: no weights

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._shape_list(input_shape)
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"{type(self).__name__} cannot merge tensors with different batch sizes. "
                f"Received: input_shape={_shown(input_shape)}"
            )
        output: Shape = shapes[0][1:]
        for shape in shapes[1:]:
            output = self._broadcast(output, shape[1:], input_shape)
        batch = batch_sizes.pop() if batch_sizes else None
        return (batch, *output)

    def _shape_list(self, input_shape: Any) -> list[Shape]:
        """``input_shape`` as a list of tuples, refusing one shape or the wrong count."""
        name = type(self).__name__
        if not isinstance(input_shape, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) for s in input_shape
        ):
            raise ValueError(
                f"A {name} layer should be called on a list of inputs. "
                f"Received: input_shape={_shown(input_shape)}"
            )
        shapes = [tuple(s) for s in input_shape]
        if self.input_count is not None and len(shapes) != self.input_count:
            raise ValueError(
                f"A {name} layer should be called on exactly {self.input_count} inputs. "
                f"Received: input_shape={_shown(input_shape)}"
            )
        if not shapes:
            raise ValueError(
                f"A {name} layer should be called on a list of at least 1 input. "
                f"Received: input_shape={_shown(input_shape)}"
            )
        return shapes

    def _broadcast(self, first: Shape, second: Shape, input_shape: Any) -> Shape:
        """The broadcast of two shapes without their batch axis (Keras's rule)."""
        if len(first) < len(second):
            first, second = second, first
        if not second:
            return first
        out = list(first[: len(first) - len(second)])
        for i, j in zip(first[len(first) - len(second) :], second):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1 or i == j:
                out.append(j if i == 1 else i)
            else:
                raise ValueError(
                    f"{type(self).__name__} got inputs of incompatible shapes: each axis "
                    f"must be equal or 1 (after adding axes to the lower-rank inputs). "
                    f"Received: input_shape={_shown(input_shape)}"
                )
        return tuple(out)

    # -- masks -----------------------------------------------------------------
    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Keras 3: the OR of the input masks, or ``None`` if any input has none."""
        masks = _mask_list(self, inputs, mask)
        if masks is None or any(m is None for m in masks):
            return None
        xp = K.get_array_module(masks[0])
        output = xp.asarray(masks[0], dtype=bool)
        for m in masks[1:]:
            output = output | xp.asarray(m, dtype=bool)
        return output

    # -- computing -------------------------------------------------------------
    def forward(self, x: Any, training: bool = False) -> Any:
        inputs = self._checked_inputs(x)
        self._input_shapes = [tuple(v.shape) for v in inputs]
        self.compute_output_shape(self._input_shapes)
        rank = max(v.ndim for v in inputs)
        self._inputs = [_expanded(v, rank) for v in inputs]
        return self._merge(K.get_array_module(inputs[0]), self._inputs)

    def backward(self, grad: Any) -> Any:
        if not self.needs_input_grad:
            return None
        xp = K.get_array_module(grad)
        grads = self._merge_grads(xp, grad)
        return [
            unbroadcast(g, tuple(expanded.shape)).reshape(shape)
            for g, expanded, shape in zip(grads, self._inputs, self._input_shapes)
        ]

    def _value_masks(self, xp: Any, inputs: list[Any]) -> list[Any] | None:
        """The input masks, each broadcast to its (rank-expanded) input's shape, or
        ``None`` when no input has one. Keras's Multiply, Maximum and Minimum read them:
        masked entries do not take part."""
        masks = self.input_mask
        if not isinstance(masks, (list, tuple)) or all(m is None for m in masks):
            return None
        found = []
        for x, mask in zip(inputs, masks):
            if mask is None:
                found.append(None)
                continue
            mask = xp.asarray(mask, dtype=bool)
            if mask.ndim != x.ndim - 1 or tuple(mask.shape) != tuple(x.shape[: mask.ndim]):
                raise ValueError(
                    f"{type(self).__name__} needs each mask to match its input without the "
                    f"last axis. Received: mask with shape {tuple(mask.shape)} for an input "
                    f"of shape {tuple(x.shape)}"
                )
            found.append(xp.broadcast_to(mask[..., None], x.shape))
        return found

    def _checked_inputs(self, x: Any) -> list[Any]:
        if not isinstance(x, (list, tuple)):
            raise ValueError(
                f"A {type(self).__name__} layer should be called on a list of inputs. "
                f"Received: inputs with shape {tuple(getattr(x, 'shape', ()))} (not a list)"
            )
        return [_in_dtype(K.to_device(v), self.compute_dtype) for v in x]

    def _merge(self, xp: Any, inputs: list[Any]) -> Any:
        raise NotImplementedError

    def _merge_grads(self, xp: Any, grad: Any) -> list[Any]:
        raise NotImplementedError


def unbroadcast(grad: Any, shape: Shape) -> Any:
    """``grad`` summed over the axes where an input of ``shape`` (same rank) broadcast."""
    axes = tuple(i for i, (n, g) in enumerate(zip(shape, grad.shape)) if n == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def _expanded(x: Any, rank: int) -> Any:
    """``x`` with axes of size 1 added after the batch axis up to ``rank`` (Keras's rule)."""
    missing = rank - x.ndim
    if missing <= 0:
        return x
    return x.reshape((x.shape[0], *([1] * missing), *x.shape[1:]))


def _in_dtype(x: Any, dtype: str) -> Any:
    xp = K.get_array_module(x)
    if xp.issubdtype(x.dtype, xp.floating) and x.dtype != dtype:
        return x.astype(dtype)
    return x


def _mask_list(layer: Layer, inputs: Any, mask: Any) -> list[Any] | None:
    """``mask`` checked as one entry per input (``None`` when no mask at all)."""
    if mask is None:
        return None
    if not isinstance(mask, (list, tuple)):
        raise ValueError(
            f"{type(layer).__name__}: `mask` should be a list (one entry per input). "
            f"Received: mask of type {type(mask).__name__}"
        )
    if isinstance(inputs, (list, tuple)) and len(mask) != len(inputs):
        raise ValueError(
            f"{type(layer).__name__}: the lists `inputs` and `mask` should have the same "
            f"length. Received: {len(inputs)} inputs and mask of length {len(mask)}"
        )
    return list(mask)


def _shown(input_shape: Any) -> Any:
    """``input_shape`` as Keras prints it: a list of tuples."""
    if isinstance(input_shape, (list, tuple)) and all(
        isinstance(s, (list, tuple)) for s in input_shape
    ):
        return [tuple(s) for s in input_shape]
    return input_shape
