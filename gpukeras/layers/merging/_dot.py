"""Dot: the batch-wise dot product of two inputs along one axis of each."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.layers._serialization import register
from gpukeras.layers.merging._base import Merge, Shape, _shown


@register
class Dot(Merge):
    """Dot product of two inputs, sample by sample (Keras 3's ``keras.layers.Dot``).

    For inputs ``(batch, *a)`` and ``(batch, *b)`` the output is ``(batch, *a', *b')``,
    ``a'`` and ``b'`` without the summed axes, or ``(batch, 1)`` when nothing is left.
    With ``normalize=True`` both inputs are L2-normalized along their axis first, so two
    vectors give their cosine similarity (a siamese network's head).

    Example:
        ```python
        similarity = gpukeras.layers.Dot(axes=1, normalize=True)([left, right])
        ```

    Args:
        axes: One int (the same axis of both inputs) or two, ``(axis of the first, axis
            of the second)``; the batch axis 0 cannot be used. Required.
        normalize: L2-normalize the inputs along ``axes`` first; default ``False``.
        **kwargs: :class:`Layer` arguments (``name``, ``dtype``, ...).
    """

    input_count = 2
    supports_masking = True
    call_state = ("_inputs", "_moved", "_inverse_norms", "_axes")

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Dot axes must be an int or two ints. Received: axes={axes!r}")
            if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError(f"Dot axes must be integers. Received: axes={axes!r}")
        elif isinstance(axes, bool) or not isinstance(axes, int):
            raise TypeError(f"Dot axes must be an int or a list of two. Received: axes={axes!r}")
        self.axes = list(axes) if isinstance(axes, (list, tuple)) else axes
        self.normalize = bool(normalize)

    def _axes_for(self, ranks: tuple[int, int], input_shape: Any) -> tuple[int, int]:
        given = self.axes if isinstance(self.axes, list) else [self.axes, self.axes]
        axes = []
        for axis, rank in zip(given, ranks):
            if not -rank <= axis < rank or axis % rank == 0:
                raise ValueError(
                    f"Dot axes={self.axes!r} must name a non-batch axis of each input. "
                    f"Received: input_shape={_shown(input_shape)}"
                )
            axes.append(axis % rank)
        return axes[0], axes[1]

    def compute_output_shape(self, input_shape: Any) -> Shape:
        first, second = self._shape_list(input_shape)
        if len(first) < 2 or len(second) < 2:
            raise ValueError(
                "Dot needs inputs of rank >= 2 (a batch axis and more). "
                f"Received: input_shape={_shown(input_shape)}"
            )
        a0, a1 = self._axes_for((len(first), len(second)), input_shape)
        n, m = first[a0], second[a1]
        if n is not None and m is not None and n != m:
            raise ValueError(
                f"Dot axes={self.axes!r}: the summed axes differ in size ({n} != {m}). "
                f"Received: input_shape={_shown(input_shape)}"
            )
        if None not in (first[0], second[0]) and first[0] != second[0]:
            raise ValueError(
                "Dot cannot merge tensors with different batch sizes. "
                f"Received: input_shape={_shown(input_shape)}"
            )
        batch = first[0] if first[0] is not None else second[0]
        rest = [d for i, d in enumerate(first) if i not in (0, a0)]
        rest += [d for i, d in enumerate(second) if i not in (0, a1)]
        return (batch, *rest) if rest else (batch, 1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    def forward(self, x: Any, training: bool = False) -> Any:
        first, second = self._checked_inputs(x)
        shapes = [tuple(first.shape), tuple(second.shape)]
        out_shape = self.compute_output_shape(shapes)
        a0, a1 = self._axes = self._axes_for((first.ndim, second.ndim), shapes)
        xp = K.get_array_module(first)
        self._inputs, self._inverse_norms = [first, second], [None, None]
        if self.normalize:
            first, self._inverse_norms[0] = _l2_normalized(xp, first, a0)
            second, self._inverse_norms[1] = _l2_normalized(xp, second, a1)
        # (batch, M, K) @ (batch, K, N): the summed axis last in the first, first in the other.
        left = xp.moveaxis(first, a0, -1)
        right = xp.moveaxis(second, a1, 1)
        self._moved = [left, right]
        batch = left.shape[0]
        product = xp.matmul(
            left.reshape(batch, -1, left.shape[-1]), right.reshape(batch, right.shape[1], -1)
        )
        return product.reshape((batch, *out_shape[1:]))

    def backward(self, grad: Any) -> Any:
        if not self.needs_input_grad:
            return None
        xp = K.get_array_module(grad)
        left, right = self._moved
        batch, k = left.shape[0], left.shape[-1]
        left3 = left.reshape(batch, -1, k)
        right3 = right.reshape(batch, k, -1)
        g = grad.reshape(batch, left3.shape[1], right3.shape[2])
        d_left = xp.matmul(g, right3.transpose(0, 2, 1)).reshape(left.shape)
        d_right = xp.matmul(left3.transpose(0, 2, 1), g).reshape(right.shape)
        grads = [xp.moveaxis(d_left, -1, self._axes[0]), xp.moveaxis(d_right, 1, self._axes[1])]
        if self.normalize:
            grads = [
                _l2_normalized_grad(xp, g_i, x_i, inv, axis)
                for g_i, x_i, inv, axis in zip(grads, self._inputs, self._inverse_norms, self._axes)
            ]
        return [xp.ascontiguousarray(g_i) for g_i in grads]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalized(xp: Any, x: Any, axis: int) -> tuple[Any, Any]:
    """``x * min(1/sqrt(sum(x**2)), 1/epsilon)`` along ``axis`` (Keras's ops.normalize),
    and the factor it was multiplied by."""
    squares = (x * x).sum(axis=axis, keepdims=True)
    floor = K.epsilon() ** 2  # min(1/sqrt(s), 1/eps) == 1/sqrt(max(s, eps**2)), no 1/0
    inverse = (1.0 / xp.sqrt(xp.maximum(squares, floor))).astype(x.dtype, copy=False)
    return x * inverse, inverse


def _l2_normalized_grad(xp: Any, grad: Any, x: Any, inverse: Any, axis: int) -> Any:
    """The input gradient of :func:`_l2_normalized`. Where the norm is below epsilon the
    factor is a constant, so the gradient is ``grad / epsilon``."""
    y = x * inverse
    along = (grad * y).sum(axis=axis, keepdims=True)
    clipped = inverse >= 1.0 / K.epsilon()
    return xp.where(clipped, grad * inverse, (grad - y * along) * inverse)


def dot(inputs: list[Any], axes: Any = -1, **kwargs: Any) -> Any:
    """Functional interface to :class:`Dot`: ``Dot(axes, **kwargs)(inputs)``."""
    return Dot(axes=axes, **kwargs)(inputs)
