"""GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D: one value per channel."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras._legacy import legacy_arguments
from gpukeras.layers import _conv_arguments as args
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register


class BaseGlobalPooling(Layer):
    """Reduce every spatial axis (mean or max).

    Args:
        rank: Number of spatial axes (1 or 2).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        keepdims: Keep the spatial axes with size 1; default ``False``.
        **kwargs: :class:`Layer` arguments.
    """

    reduce = "avg"
    call_state = ("_x", "_max", "_weights_mask")

    def __init__(
        self, rank: int, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.rank = rank
        self.data_format = args.normalize_data_format(data_format)
        self.keepdims = bool(keepdims)

    def _axes(self) -> tuple[int, ...]:
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        args.check_input_rank(self, input_shape, self.rank)
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def forward(self, x: Any, training: bool = False) -> Any:
        self._x = x
        axes = self._axes()
        if self.reduce == "max":
            self._max = x.max(axis=axes, keepdims=True)
            out = self._max
        elif self.input_mask is not None and self.rank == 1:
            out = self._masked_mean(x)
        else:
            self._weights_mask = None
            out = x.mean(axis=axes, keepdims=True)
        return out if self.keepdims else out.reshape(self.compute_output_shape(x.shape))

    def _masked_mean(self, x: Any) -> Any:
        """Keras 3: masked steps left out, ``sum(x * mask) / sum(mask)``."""
        mask = self.input_mask.astype(x.dtype)
        mask = mask[:, :, None] if self.data_format == "channels_last" else mask[:, None, :]
        self._weights_mask = mask / mask.sum(axis=self._axes(), keepdims=True)
        return (x * self._weights_mask).sum(axis=self._axes(), keepdims=True)

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        axes = self._axes()
        grad = grad.reshape(tuple(1 if i in axes else d for i, d in enumerate(self._x.shape)))
        if self.reduce == "avg":
            if self._weights_mask is not None:
                return grad * self._weights_mask
            size = 1
            for axis in axes:
                size *= self._x.shape[axis]
            return xp.broadcast_to(grad * (1.0 / size), self._x.shape).copy()
        return grad * self._first_maximum()

    def _first_maximum(self) -> Any:
        """1.0 at each channel's first maximum (row-major), else 0.0."""
        xp = K.get_array_module(self._x)
        axes = self._axes()
        hits = self._x == self._max
        flat = xp.moveaxis(hits, axes, tuple(range(-len(axes), 0)))
        flat_shape = flat.shape
        flat = flat.reshape(*flat_shape[: -len(axes)], -1)
        first = (xp.cumsum(flat, axis=-1) == 1) & flat
        first = xp.moveaxis(first.reshape(flat_shape), tuple(range(-len(axes), 0)), axes)
        return first.astype(self._x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


_DOC = """{title}

    Args:
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        keepdims: Keep the reduced axes with size 1; default ``False``.
        **kwargs: :class:`Layer` arguments.
"""


@register
class GlobalAveragePooling1D(BaseGlobalPooling):
    __doc__ = _DOC.format(
        title="Mean over the steps; with a mask (Keras 3) only the unmasked steps count."
    )
    supports_masking = False

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(1, data_format, keepdims, **kwargs)


@register
class GlobalAveragePooling2D(BaseGlobalPooling):
    __doc__ = _DOC.format(title="Mean over height and width.")

    @legacy_arguments("GlobalAveragePooling2D", args.LEGACY_DIM_ORDERING)
    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(2, data_format, keepdims, **kwargs)


@register
class GlobalMaxPooling1D(BaseGlobalPooling):
    __doc__ = _DOC.format(title="Max over the steps; the gradient goes to the first maximum.")
    reduce = "max"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(1, data_format, keepdims, **kwargs)


@register
class GlobalMaxPooling2D(BaseGlobalPooling):
    __doc__ = _DOC.format(
        title="Max over height and width; the gradient goes to the first maximum."
    )
    reduce = "max"

    @legacy_arguments("GlobalMaxPooling2D", args.LEGACY_DIM_ORDERING)
    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(2, data_format, keepdims, **kwargs)
