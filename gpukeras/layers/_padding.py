"""ZeroPadding2D, Cropping2D and UpSampling2D: moving pixels, no arithmetic."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras._legacy import legacy_arguments
from gpukeras.layers import _conv_arguments as args
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register


def normalize_pairs(value: Any, name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """An int, 2 ints (symmetric per axis) or 2 pairs as ``((top, bottom), (left, right))``."""
    given = value
    if args.is_int(value):
        value = (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        if all(args.is_int(v) for v in value):
            pairs = ((value[0], value[0]), (value[1], value[1]))
        else:
            pairs = tuple(tuple(v) if isinstance(v, (tuple, list)) else (None, None) for v in value)
        flat = [v for pair in pairs for v in pair]
        if all(len(p) == 2 for p in pairs) and all(args.is_int(v) and v >= 0 for v in flat):
            return tuple((int(a), int(b)) for a, b in pairs)  # type: ignore[return-value]
    raise ValueError(
        f"`{name}` must be a non-negative int, a tuple of 2 non-negative ints, or a tuple of "
        f"2 tuples of 2 non-negative ints. Received: {name}={given!r}"
    )


class _Spatial2D(Layer):
    """Shared rank check and channels-last view for the 2-D pixel movers."""

    call_state = ("_in_shape",)

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = args.normalize_data_format(data_format)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    def _spatial_slices(self, pairs: Any, height: int, width: int) -> tuple[Any, ...]:
        (top, bottom), (left, right) = pairs
        return (slice(None), slice(top, height - bottom), slice(left, width - right))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


@register
class ZeroPadding2D(_Spatial2D):
    """Add rows and columns of zeros around images.

    Args:
        padding: Int (all sides), tuple of 2 ints (rows, columns; both sides), or
            ``((top, bottom), (left, right))``; default ``(1, 1)``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        **kwargs: :class:`Layer` arguments.
    """

    @legacy_arguments("ZeroPadding2D", args.LEGACY_DIM_ORDERING)
    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format, **kwargs)
        self.padding = normalize_pairs(padding, "padding")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        args.check_input_rank(self, input_shape, 2)
        spatial = tuple(
            None if size is None else size + sum(pair)
            for size, pair in zip(args.spatial_dims(input_shape, self.data_format), self.padding)
        )
        channels = input_shape[args.channel_axis(self.data_format, 4)]
        return args.with_spatial(input_shape, self.data_format, spatial, channels)

    def forward(self, x: Any, training: bool = False) -> Any:
        xp = K.get_array_module(x)
        x4 = args.to_nhwc(x, 2, self.data_format)
        (top, bottom), (left, right) = self.padding
        n, h, w, c = x4.shape
        out = xp.zeros((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
        out[:, top : top + h, left : left + w] = x4
        return args.from_nhwc(out, 2, self.data_format)

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        g4 = args.to_nhwc(grad, 2, self.data_format)
        inner = g4[self._spatial_slices(self.padding, g4.shape[1], g4.shape[2])]
        return args.from_nhwc(xp.ascontiguousarray(inner), 2, self.data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding}


@register
class Cropping2D(_Spatial2D):
    """Remove rows and columns at the edges of images.

    Args:
        cropping: Int (all sides), tuple of 2 ints (rows, columns; both sides), or
            ``((top, bottom), (left, right))``; default ``((0, 0), (0, 0))``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        **kwargs: :class:`Layer` arguments.
    """

    @legacy_arguments("Cropping2D", args.LEGACY_DIM_ORDERING)
    def __init__(
        self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any
    ):
        super().__init__(data_format, **kwargs)
        self.cropping = normalize_pairs(cropping, "cropping")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        args.check_input_rank(self, input_shape, 2)
        spatial = []
        for size, pair in zip(args.spatial_dims(input_shape, self.data_format), self.cropping):
            if size is not None and sum(pair) >= size:
                raise ValueError(
                    f"Cropping2D {self.name!r}: `cropping` must leave at least one row and "
                    f"column. Received: cropping={self.cropping}, "
                    f"input_shape={tuple(input_shape)}"
                )
            spatial.append(None if size is None else size - sum(pair))
        channels = input_shape[args.channel_axis(self.data_format, 4)]
        return args.with_spatial(input_shape, self.data_format, tuple(spatial), channels)

    def forward(self, x: Any, training: bool = False) -> Any:
        xp = K.get_array_module(x)
        self.compute_output_shape(x.shape)
        x4 = args.to_nhwc(x, 2, self.data_format)
        self._in_shape = x4.shape
        inner = x4[self._spatial_slices(self.cropping, x4.shape[1], x4.shape[2])]
        return args.from_nhwc(xp.ascontiguousarray(inner), 2, self.data_format)

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        out = xp.zeros(self._in_shape, dtype=grad.dtype)
        out[self._spatial_slices(self.cropping, *self._in_shape[1:3])] = args.to_nhwc(
            grad, 2, self.data_format
        )
        return args.from_nhwc(out, 2, self.data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping}


_OTHER_INTERPOLATIONS = ("bilinear", "bicubic", "lanczos3", "lanczos5", "area")


@register
class UpSampling2D(_Spatial2D):
    """Repeat each row ``size[0]`` times and each column ``size[1]`` times.

    Args:
        size: Int or tuple of 2 ints, the factors; default ``(2, 2)``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        interpolation: ``'nearest'`` (default); Keras's other modes are not supported yet.
        **kwargs: :class:`Layer` arguments.
    """

    @legacy_arguments("UpSampling2D", args.LEGACY_DIM_ORDERING)
    def __init__(
        self,
        size: Any = (2, 2),
        data_format: str | None = None,
        interpolation: str = "nearest",
        **kwargs: Any,
    ):
        super().__init__(data_format, **kwargs)
        self.size = args.normalize_tuple(size, 2, "size")
        if interpolation in _OTHER_INTERPOLATIONS:
            raise NotImplementedError(
                "UpSampling2D supports only interpolation='nearest' so far. "
                f"Received: interpolation={interpolation!r}"
            )
        if interpolation != "nearest":
            raise ValueError(
                "`interpolation` must be one of 'nearest', "
                f"{', '.join(map(repr, _OTHER_INTERPOLATIONS))}. "
                f"Received: interpolation={interpolation!r}"
            )
        self.interpolation = interpolation

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        args.check_input_rank(self, input_shape, 2)
        spatial = tuple(
            None if size is None else size * factor
            for size, factor in zip(args.spatial_dims(input_shape, self.data_format), self.size)
        )
        channels = input_shape[args.channel_axis(self.data_format, 4)]
        return args.with_spatial(input_shape, self.data_format, spatial, channels)

    def forward(self, x: Any, training: bool = False) -> Any:
        xp = K.get_array_module(x)
        x4 = args.to_nhwc(x, 2, self.data_format)
        n, h, w, c = x4.shape
        sh, sw = self.size
        out = xp.broadcast_to(x4[:, :, None, :, None, :], (n, h, sh, w, sw, c))
        return args.from_nhwc(out.reshape(n, h * sh, w * sw, c), 2, self.data_format)

    def backward(self, grad: Any) -> Any:
        g4 = args.to_nhwc(grad, 2, self.data_format)
        n, hh, ww, c = g4.shape
        sh, sw = self.size
        summed = g4.reshape(n, hh // sh, sh, ww // sw, sw, c).sum(axis=(2, 4))
        return args.from_nhwc(summed, 2, self.data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "interpolation": self.interpolation}
