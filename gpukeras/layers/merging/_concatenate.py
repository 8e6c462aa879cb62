"""Concatenate: a list of inputs joined along one axis."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.layers._serialization import register
from gpukeras.layers.merging._base import Merge, Shape, _mask_list, _shown


@register
class Concatenate(Merge):
    """Joins a list of inputs along ``axis`` (Keras 3's ``keras.layers.Concatenate``).

    Every input must have the same rank and the same size on every axis but ``axis``.

    Example:
        ```python
        branches = gpukeras.layers.Concatenate(axis=-1)([tower_1, tower_2, tower_3])
        ```

    Args:
        axis: The axis to join along; default ``-1``.
        **kwargs: :class:`Layer` arguments (``name``, ``dtype``, ...).
    """

    call_state = ("_sizes",)

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate axis must be an int. Received: axis={axis!r}")
        self.axis = axis
        self._sizes: list[int] = []

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._shape_list(input_shape)
        rank = len(shapes[0])
        if not -rank <= self.axis < rank or any(len(s) != rank for s in shapes):
            raise ValueError(
                f"A Concatenate layer with axis={self.axis} needs inputs of one rank that "
                f"has that axis. Received: input_shape={_shown(input_shape)}"
            )
        axis = self.axis % rank
        output = list(shapes[0])
        for shape in shapes[1:]:
            for i, (n, m) in enumerate(zip(output, shape)):
                if i != axis and n is not None and m is not None and n != m:
                    raise ValueError(
                        "A Concatenate layer requires inputs with matching shapes except "
                        f"for the concatenation axis ({self.axis}). "
                        f"Received: input_shape={_shown(input_shape)}"
                    )
                if i != axis and n is None:
                    output[i] = m
            joined = output[axis]
            output[axis] = None if joined is None or shape[axis] is None else joined + shape[axis]
        return tuple(output)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Keras 3: unmasked inputs count as all True; the masks, broadcast to the inputs'
        shapes, are joined along ``axis`` and reduced with ``any`` over the last axis."""
        masks = _mask_list(self, inputs, mask)
        if masks is None or all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            xp = K.get_array_module(x if m is None else m)
            shape = tuple(x.shape)
            if m is None:
                full.append(xp.ones(shape, dtype=bool))
            elif m.ndim < len(shape):
                full.append(xp.broadcast_to(xp.asarray(m, dtype=bool)[..., None], shape))
            else:
                full.append(xp.asarray(m, dtype=bool))
        return xp.concatenate(full, axis=self.axis).any(axis=-1)

    def forward(self, x: Any, training: bool = False) -> Any:
        inputs = self._checked_inputs(x)
        self.compute_output_shape([tuple(v.shape) for v in inputs])
        self._sizes = [int(v.shape[self.axis]) for v in inputs]
        return K.get_array_module(inputs[0]).concatenate(inputs, axis=self.axis)

    def backward(self, grad: Any) -> Any:
        if not self.needs_input_grad:
            return None
        xp = K.get_array_module(grad)
        bounds, total = [], 0
        for size in self._sizes[:-1]:
            total += size
            bounds.append(total)
        return [xp.ascontiguousarray(g) for g in xp.split(grad, bounds, axis=self.axis)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional interface to :class:`Concatenate`: ``Concatenate(axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
