"""Cropping1D and Cropping3D: drop steps or voxels at the edges (Cropping2D lives with
the other 2-D pixel movers in ``_padding.py``)."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras._legacy import legacy_arguments
from gpukeras.layers import _conv_arguments as args
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register


def _pairs(given: Any, rank: int) -> tuple[tuple[int, int], ...]:
    """An int (every side), ``rank`` ints (both sides of each axis) or ``rank`` pairs."""

    def count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    if count(given):
        return ((given, given),) * rank
    if isinstance(given, (tuple, list)) and len(given) == rank:
        if all(count(v) for v in given):
            return tuple((v, v) for v in given)
        if all(isinstance(p, (tuple, list)) and len(p) == 2 and all(map(count, p)) for p in given):
            return tuple((int(a), int(b)) for a, b in given)
    if (
        rank == 1
        and isinstance(given, (tuple, list))
        and len(given) == 2
        and all(map(count, given))
    ):
        return ((int(given[0]), int(given[1])),)
    raise ValueError(
        f"`cropping` must be a non-negative int, {rank} non-negative ints or {rank} pairs of "
        f"them. Received: cropping={given!r}"
    )


class _Cropping(Layer):
    """Crops the ``rank`` spatial axes; the gradient is zero-padded back."""

    rank = 1
    call_state = ("_in_shape",)

    def __init__(self, cropping: Any, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, self.rank)
        self.data_format = args.normalize_data_format(data_format)

    def _spatial_axes(self, ndim: int) -> range:
        first = 2 if self.data_format == "channels_first" else 1
        return range(first, first + ndim - 2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{type(self).__name__} expects inputs of rank {self.rank + 2}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        shape = list(input_shape)
        for axis, pair in zip(self._spatial_axes(len(shape)), self.cropping):
            if shape[axis] is not None:
                if sum(pair) >= shape[axis]:
                    raise ValueError(
                        f"{type(self).__name__} {self.name!r}: `cropping` must leave at least "
                        f"one entry on each axis. Received: cropping={self.cropping}, "
                        f"input_shape={tuple(input_shape)}"
                    )
                shape[axis] -= sum(pair)
        return tuple(shape)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def _slices(self, shape: tuple[int, ...]) -> tuple[slice, ...]:
        slices = [slice(None)] * len(shape)
        for axis, (start, end) in zip(self._spatial_axes(len(shape)), self.cropping):
            slices[axis] = slice(start, shape[axis] - end)
        return tuple(slices)

    def forward(self, x: Any, training: bool = False) -> Any:
        self.compute_output_shape(x.shape)
        self._in_shape = x.shape
        return K.get_array_module(x).ascontiguousarray(x[self._slices(x.shape)])

    def backward(self, grad: Any) -> Any:
        out = K.get_array_module(grad).zeros(self._in_shape, dtype=grad.dtype)
        out[self._slices(self._in_shape)] = grad
        return out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping}


@register
class Cropping1D(_Cropping):
    """Removes steps at the start and end of ``(N, steps, features)`` inputs.

    Args:
        cropping: Int (both ends) or ``(start, end)``; default ``(1, 1)``.
        **kwargs: :class:`Layer` arguments.
    """

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(cropping, "channels_last", **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": list(self.cropping[0])}


@register
class Cropping3D(_Cropping):
    """Removes entries at the edges of the three spatial axes of 5-d inputs.

    Args:
        cropping: Int, 3 ints (both sides of each axis) or 3 ``(start, end)`` pairs;
            default ``((1, 1), (1, 1), (1, 1))``.
        data_format: ``'channels_last'`` or ``'channels_first'``; default
            ``backend.image_data_format()``.
        **kwargs: :class:`Layer` arguments.
    """

    rank = 3

    @legacy_arguments("Cropping3D", args.LEGACY_DIM_ORDERING)
    def __init__(
        self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(cropping, data_format, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
