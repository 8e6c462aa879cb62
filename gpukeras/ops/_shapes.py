"""Shape rules shared by many ops: each maps input shapes (and the op's options) to the
output shape without touching data."""

from __future__ import annotations

from typing import Any

import numpy


def same(shape: tuple[int, ...], *rest: Any, **params: Any) -> tuple[int, ...]:
    """Elementwise unary ops: the input's shape."""
    return tuple(shape)


def broadcast(*shapes: Any, **params: Any) -> tuple[int, ...]:
    """Elementwise n-ary ops: NumPy broadcasting (scalars count as ``()``)."""
    return tuple(numpy.broadcast_shapes(*[tuple(s) for s in shapes]))


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a sequence) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for an array of rank {ndim}")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(out))


def reduce(
    shape: tuple[int, ...], axis: Any = None, keepdims: bool = False, **params: Any
) -> tuple[int, ...]:
    """Reductions over ``axis``."""
    axes = normalize_axes(axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def matmul(a: tuple[int, ...], b: tuple[int, ...], **params: Any) -> tuple[int, ...]:
    """NumPy's matmul: batch dims broadcast, 1-d operands gain and lose an axis."""
    a2 = (1, *a) if len(a) == 1 else tuple(a)
    b2 = (*b, 1) if len(b) == 1 else tuple(b)
    if a2[-1] != b2[-2]:
        raise ValueError(f"matmul: contracted sizes differ: {a2[-1]} vs {b2[-2]}")
    batch = numpy.broadcast_shapes(a2[:-2], b2[:-2])
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return tuple(out)


def evaluated(forward: Any, int_inputs: tuple[int, ...] = ()) -> Any:
    """A shape rule that runs ``forward`` on NumPy zeros of the shapes (tiny, no device).

    For ops whose rule is longer to write than to evaluate (``einsum``, ``pad``, ``take``);
    inputs at ``int_inputs`` are integer zeros (valid indices).
    """

    def rule(*shapes: Any, **params: Any) -> tuple[int, ...]:
        arrays = [
            numpy.zeros(s, dtype="int64" if i in int_inputs else "float64")
            for i, s in enumerate(shapes)
        ]
        return tuple(forward(numpy, *arrays, **params).shape)

    return rule
