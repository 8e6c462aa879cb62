"""MaxPooling1D/2D and AveragePooling1D/2D over channels-last windows.

No im2col here: a pooling window is reduced offset by offset, ``pool_h * pool_w`` strided
slices of the (padded) input combined with ``maximum`` or ``+``; the backward pass adds the
gradient back through the same slices. Max pooling sends each window's gradient to its first
maximum (row-major), as TensorFlow does. ``'same'`` average pooling divides by the number of
real (non-padding) inputs in each window, as Keras does.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras._legacy import legacy_arguments
from gpukeras.layers import _conv_arguments as args
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register

# Keras 1's names (``MaxPooling1D(pool_length=2, stride=2)``, ``dim_ordering='th'``).
_LEGACY_POOLING = {
    "pool_length": ("pool_size", None),
    "stride": ("strides", None),
    "border_mode": ("padding", None),
    **args.LEGACY_DIM_ORDERING,
}


class BasePooling(Layer):
    """Shared arguments and window arithmetic of the pooling layers.

    Args:
        rank: Number of spatial axes (1 or 2).
        pool_size: Int or tuple of ``rank`` ints.
        strides: Int or tuple; default ``None`` (``pool_size``).
        padding: ``'valid'`` (default) or ``'same'``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        **kwargs: :class:`Layer` arguments.
    """

    reduce = "max"
    # Set by the training step: outputs and input gradients may live in reused buffers.
    scratch_outputs = False
    call_state = (
        "_in_shape",
        "_tiles_view",
        "_phases",
        "_out",
        "_scale",
        "_padded",
        "_offsets",
        "_pads",
    )
    call_workspace = {"_buffers": args.Buffers}

    def __init__(
        self,
        rank: int,
        pool_size: Any,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rank = rank
        self.pool_size = args.normalize_tuple(pool_size, rank, "pool_size")
        self.strides = (
            self.pool_size if strides is None else args.normalize_tuple(strides, rank, "strides")
        )
        self.padding = args.normalize_padding(padding)
        self.data_format = args.normalize_data_format(data_format)
        self._buffers = args.Buffers()

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        args.check_input_rank(self, input_shape, self.rank)
        spatial = tuple(
            args.output_size(self, size, k, s, 1, self.padding, "pool_size")
            for size, k, s in zip(
                args.spatial_dims(input_shape, self.data_format), self.pool_size, self.strides
            )
        )
        channels = input_shape[args.channel_axis(self.data_format, len(input_shape))]
        return args.with_spatial(input_shape, self.data_format, spatial, channels)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)

    # -- windows ----------------------------------------------------------
    def _window(self) -> tuple[tuple[int, int], tuple[int, int]]:
        if self.rank == 1:
            return (1, self.pool_size[0]), (1, self.strides[0])
        return self.pool_size, self.strides

    def _plan(self, x4: Any) -> tuple[Any, list[tuple[slice, slice]], tuple[int, int, int, int]]:
        """The padded input, the slice pair of each window offset, and the paddings."""
        (ph, pw), (sh, sw) = self._window()
        height, width = x4.shape[1:3]
        self.compute_output_shape(self._unmoved_shape(x4.shape))
        out_h, top = args.window_padding(height, ph, sh, 1, self.padding)
        out_w, left = args.window_padding(width, pw, sw, 1, self.padding)
        bottom = max(0, (out_h - 1) * sh + ph - top - height)
        right = max(0, (out_w - 1) * sw + pw - left - width)
        if top or bottom or left or right:
            xp = K.get_array_module(x4)
            fill = -xp.inf if self.reduce == "max" else 0.0
            padded = xp.full(
                (x4.shape[0], top + height + bottom, left + width + right, x4.shape[3]),
                fill,
                dtype=x4.dtype,
            )
            padded[:, top : top + height, left : left + width] = x4
            x4 = padded
        offsets = [
            (
                slice(i, i + (out_h - 1) * sh + 1, sh),
                slice(j, j + (out_w - 1) * sw + 1, sw),
            )
            for i in range(ph)
            for j in range(pw)
        ]
        return x4, offsets, (top, bottom, left, right)

    def _unmoved_shape(self, nhwc: tuple[int, ...]) -> tuple[int, ...]:
        spatial = nhwc[2:3] if self.rank == 1 else nhwc[1:3]
        return args.with_spatial(nhwc, self.data_format, spatial, nhwc[3])

    def forward(self, x: Any, training: bool = False) -> Any:
        x4 = args.to_nhwc(x, self.rank, self.data_format)
        self._in_shape = x4.shape
        tiles = self._tiles(x4)
        out = self._tiled_forward(tiles) if tiles is not None else self._offset_forward(x4)
        self._tiles_view = tiles
        return args.from_nhwc(out, self.rank, self.data_format)

    # -- windows that tile the input (stride == pool size, no padding) ------
    def _tiles(self, x4: Any) -> Any:
        """``x4`` as ``(N, OH, ph, OW, pw, C)`` tiles when the windows tile it, else None.

        Windows with ``strides == pool_size`` and no padding are disjoint: the input (minus
        the rows/columns no window reaches) reshapes into tiles without a copy, and every
        reduction or gradient is one broadcast operation instead of a loop over offsets.
        """
        (ph, pw), (sh, sw) = self._window()
        _, height, width, channels = x4.shape
        if (sh, sw) != (ph, pw) or (self.padding == "same" and (height % ph or width % pw)):
            return None
        self.compute_output_shape(self._unmoved_shape(x4.shape))
        out_h, out_w = height // ph, width // pw
        used = x4[:, : out_h * ph, : out_w * pw]
        return used.reshape(x4.shape[0], out_h, ph, out_w, pw, channels)

    def _tiled_forward(self, tiles: Any) -> Any:
        """Reduce the ``ph * pw`` phases: each a contiguous ``(N, OH, OW, C)`` array."""
        xp = K.get_array_module(tiles)
        n, out_h, ph, out_w, pw, channels = tiles.shape
        phases = self._buffers.get("phases", (ph, pw, n, out_h, out_w, channels), tiles.dtype)
        copy_pixels(phases, tiles.transpose(2, 4, 0, 1, 3, 5))
        phases = phases.reshape(ph * pw, n, out_h, out_w, channels)
        combine = xp.maximum if self.reduce == "max" else xp.add
        out = args.output_array(self, "out", phases.shape[1:], tiles.dtype)
        if len(phases) == 1:
            out[...] = phases[0]
        else:
            combine(phases[0], phases[1], out=out)
        for phase in phases[2:]:
            combine(out, phase, out=out)
        self._scale = None
        if self.reduce == "avg":
            self._scale = 1.0 / float(len(phases))
            out *= self._scale
        self._phases, self._out = phases, out
        return out

    def _tiled_backward(self, grad4: Any) -> Any:
        xp = K.get_array_module(grad4)
        tiles = self._tiles_view
        n, out_h, ph, out_w, pw, channels = tiles.shape
        cropped = self._in_shape[1:3] != (out_h * ph, out_w * pw)
        grad_x = args.output_array(self, "grad_x", self._in_shape, grad4.dtype)
        if cropped:  # rows/columns that no window reaches
            grad_x[:, out_h * ph :] = 0
            grad_x[:, :, out_w * pw :] = 0
        grad_tiles = grad_x[:, : out_h * ph, : out_w * pw].reshape(tiles.shape)
        if self.reduce == "avg":
            xp.multiply(grad4[:, :, None, :, None, :], self._scale, out=grad_tiles)
            return grad_x
        shares = self._buffers.get("grad_phases", self._phases.shape, grad4.dtype)
        # Phases in row-major window order: each takes what is left of the gradient where
        # it holds the maximum, so ties (all-zero windows after a ReLU) go to the first.
        remaining = grad4
        for k, phase in enumerate(self._phases):
            xp.multiply(remaining, phase == self._out, out=shares[k])
            if k == 0 and len(shares) > 1:
                remaining = remaining - shares[0]
            elif k < len(shares) - 1:
                remaining -= shares[k]
        shares = shares.reshape(ph, pw, n, out_h, out_w, channels)
        copy_pixels(grad_tiles.transpose(2, 4, 0, 1, 3, 5), shares)
        return grad_x

    def _offset_forward(self, x4: Any) -> Any:
        xp = K.get_array_module(x4)
        padded, offsets, pads = self._plan(x4)
        out = padded[(slice(None), *offsets[0])].copy()
        for rows, cols in offsets[1:]:
            window = padded[:, rows, cols]
            if self.reduce == "max":
                xp.maximum(out, window, out=out)
            else:
                out += window
        self._scale = None
        if self.reduce == "avg":
            self._scale = self._inverse_counts(x4, offsets, pads)
            out *= self._scale
        self._padded, self._offsets, self._pads, self._out = padded, offsets, pads, out
        return out

    def _inverse_counts(self, x4: Any, offsets: list[Any], pads: tuple[int, ...]) -> Any:
        """1 / (real inputs per window), shaped to broadcast over (N, OH, OW, C)."""
        if not any(pads):
            return 1.0 / float(len(offsets))
        xp = K.get_array_module(x4)
        top, bottom, left, right = pads
        ones = xp.zeros((top + x4.shape[1] + bottom, left + x4.shape[2] + right), x4.dtype)
        ones[top : top + x4.shape[1], left : left + x4.shape[2]] = 1.0
        counts = sum(ones[rows, cols] for rows, cols in offsets)
        return (1.0 / counts)[None, :, :, None]

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        grad4 = args.to_nhwc(grad, self.rank, self.data_format)
        if self._tiles_view is not None:
            grad_x = self._tiled_backward(grad4)
            return args.from_nhwc(grad_x, self.rank, self.data_format)
        grad_padded = args.zeros(self._padded.shape, grad4.dtype)
        if self.reduce == "max":
            self._max_backward(xp, grad4, grad_padded)
        else:
            share = grad4 * self._scale
            for rows, cols in self._offsets:
                grad_padded[:, rows, cols] += share
        top, _, left, _ = self._pads
        grad_x = grad_padded[:, top : top + self._in_shape[1], left : left + self._in_shape[2]]
        if grad_x.shape != grad_padded.shape:
            grad_x = xp.ascontiguousarray(grad_x)
        return args.from_nhwc(grad_x, self.rank, self.data_format)

    def _max_backward(self, xp: Any, grad4: Any, grad_padded: Any) -> None:
        """Each window's gradient to its first maximum: ``remaining`` loses it once taken."""
        disjoint = all(stride >= size for size, stride in zip(*self._window()))
        remaining = grad4.copy()
        share = None if disjoint else xp.empty_like(remaining)
        last = len(self._offsets) - 1
        for k, (rows, cols) in enumerate(self._offsets):
            hits = self._padded[:, rows, cols] == self._out
            # Windows that do not overlap write each input pixel once: no read-add needed.
            target = grad_padded[:, rows, cols] if disjoint else share
            xp.multiply(remaining, hits, out=target)
            if not disjoint:
                grad_padded[:, rows, cols] += share
            if k < last:
                remaining -= target

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        }


def copy_pixels(destination: Any, source: Any) -> None:
    """``destination[...] = source`` for channels-last arrays, a pixel at a time on NumPy.

    Where both last (channel) axes are contiguous, NumPy copies each pixel's channels as
    one block (a void item) instead of looping over ``C`` floats at a time: gathers such as
    splitting tiles into phases run several times faster.
    """
    xp = K.get_array_module(source)
    size = source.dtype.itemsize
    blocks = source.shape[-1] > 1 and source.strides[-1] == destination.strides[-1] == size
    if xp is not numpy or not blocks or source.dtype != destination.dtype:
        xp.copyto(destination, source)
        return
    pixel = numpy.dtype((numpy.void, source.shape[-1] * size))
    numpy.copyto(destination.view(pixel)[..., 0], source.view(pixel)[..., 0])


_POOLING_ARGS = """
    Args:
        pool_size: {pool_doc}
        strides: Int or tuple; default ``None`` (``pool_size``).
        padding: ``'valid'`` (default) or ``'same'`` (output ``ceil(size / stride)``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        **kwargs: :class:`Layer` arguments. Keras 1's ``pool_length``, ``stride``,
            ``border_mode`` and ``dim_ordering`` are accepted with a DeprecationWarning.
"""


@register
class MaxPooling1D(BasePooling):
    @legacy_arguments("MaxPooling1D", _LEGACY_POOLING)
    def __init__(
        self,
        pool_size: Any = 2,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(1, pool_size, strides, padding, data_format, **kwargs)


@register
class MaxPooling2D(BasePooling):
    @legacy_arguments("MaxPooling2D", _LEGACY_POOLING)
    def __init__(
        self,
        pool_size: Any = (2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(2, pool_size, strides, padding, data_format, **kwargs)


@register
class AveragePooling1D(BasePooling):
    reduce = "avg"

    @legacy_arguments("AveragePooling1D", _LEGACY_POOLING)
    def __init__(
        self,
        pool_size: Any = 2,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(1, pool_size, strides, padding, data_format, **kwargs)


@register
class AveragePooling2D(BasePooling):
    reduce = "avg"

    @legacy_arguments("AveragePooling2D", _LEGACY_POOLING)
    def __init__(
        self,
        pool_size: Any = (2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(2, pool_size, strides, padding, data_format, **kwargs)


MaxPooling1D.__doc__ = "Max over windows of steps (Keras 3's ``MaxPooling1D``).\n" + (
    _POOLING_ARGS.format(pool_doc="Int, the window length; default ``2``.")
)
MaxPooling2D.__doc__ = "Max over 2-D windows (Keras 3's ``MaxPooling2D``).\n" + (
    _POOLING_ARGS.format(pool_doc="Int or tuple of 2 ints; default ``(2, 2)``.")
)
AveragePooling1D.__doc__ = "Mean over windows of steps (Keras 3's ``AveragePooling1D``).\n" + (
    _POOLING_ARGS.format(
        pool_doc="Int, the window length; default ``2`` (Keras 3 requires it; Keras 2's default)."
    )
)
AveragePooling2D.__doc__ = "Mean over 2-D windows (Keras 3's ``AveragePooling2D``).\n" + (
    _POOLING_ARGS.format(
        pool_doc="Int or tuple of 2 ints; default ``(2, 2)`` (Keras 3 requires it; Keras "
        "2's default)."
    )
)
