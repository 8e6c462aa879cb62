"""im2col and col2im for channels-last 2-D convolutions: one CuPy kernel each, NumPy twins.

A convolution becomes one GEMM once every output pixel's receptive field is laid out as a
row: ``cols[n, oh, ow, kh, kw, c] = x_padded[n, oh*sh + kh*dh, ow*sw + kw*dw, c]``. The row
order (kh, kw, c) is Keras's kernel layout ``(kh, kw, in_channels, filters)``, so the kernel
reshaped to ``(kh*kw*in, filters)`` multiplies the rows without a copy.

``col2im`` is the adjoint: it adds every row entry back onto the input pixel it came from
(the input gradient of a convolution, and the forward pass of a transposed one).

On CuPy each is one ``ElementwiseKernel`` reading the unpadded input (out-of-range reads give
zero), col2im written as a gather (each input pixel sums the entries that came from it) so no
atomics are needed. The NumPy twins loop over the kh*kw kernel offsets, never over pixels:
each offset is one strided copy (im2col) or one strided add (col2im) of a whole
``(N, OH, OW, C)`` slab.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy
from numpy.lib.stride_tricks import as_strided

from gpukeras.backend._select import backend, get_array_module
from gpukeras.backend.kernels._op import ElementwiseOp

__all__ = [
    "ConvGeometry",
    "col2im",
    "col2im_op",
    "gemm_bias_relu",
    "relu_weight_gradient",
    "im2col",
    "im2col_op",
    "im2col_taps",
    "input_gradient_by_offsets",
    "relu_block_rows",
    "relu_in_place",
]


@dataclass(frozen=True)
class ConvGeometry:
    """Sizes of one channels-last 2-D convolution.

    ``pad_top``/``pad_left`` are the zero rows/columns before the input; the rows after it
    are whatever the output size needs (``pad_bottom``/``pad_right``).
    """

    batch: int
    height: int
    width: int
    channels: int
    kernel_h: int
    kernel_w: int
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    pad_top: int
    pad_left: int
    out_h: int
    out_w: int

    @property
    def pad_bottom(self) -> int:
        needed = (self.out_h - 1) * self.stride_h + (self.kernel_h - 1) * self.dilation_h + 1
        return max(0, needed - self.pad_top - self.height)

    @property
    def pad_right(self) -> int:
        needed = (self.out_w - 1) * self.stride_w + (self.kernel_w - 1) * self.dilation_w + 1
        return max(0, needed - self.pad_left - self.width)

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.height, self.width, self.channels)

    @property
    def cols_shape(self) -> tuple[int, ...]:
        return (
            self.batch,
            self.out_h,
            self.out_w,
            self.kernel_h,
            self.kernel_w,
            self.channels,
        )

    def scalars(self) -> tuple[int, ...]:
        """The int arguments of the kernels, in their parameter order."""
        return (
            self.height,
            self.width,
            self.channels,
            self.out_h,
            self.out_w,
            self.kernel_h,
            self.kernel_w,
            self.stride_h,
            self.stride_w,
            self.dilation_h,
            self.dilation_w,
            self.pad_top,
            self.pad_left,
        )


_SCALAR_PARAMS = (
    "int32 H, int32 W, int32 C, int32 OH, int32 OW, int32 KH, int32 KW, "
    "int32 SH, int32 SW, int32 DH, int32 DW, int32 PT, int32 PL"
)

_IM2COL_BODY = """
long long t = i;
const int c = (int)(t % C); t /= C;
const int kw = (int)(t % KW); t /= KW;
const int kh = (int)(t % KH); t /= KH;
const int ow = (int)(t % OW); t /= OW;
const int oh = (int)(t % OH);
const long long n = t / OH;
const int h = oh * SH + kh * DH - PT;
const int w = ow * SW + kw * DW - PL;
cols = (h >= 0 && h < H && w >= 0 && w < W) ? x[((n * H + h) * W + w) * C + c] : (T)0;
"""

_COL2IM_BODY = """
long long t = i;
const int c = (int)(t % C); t /= C;
const int w = (int)(t % W); t /= W;
const int h = (int)(t % H);
const long long n = t / H;
T acc = (T)0;
for (int kh = 0; kh < KH; ++kh) {
    const int hh = h + PT - kh * DH;
    if (hh < 0 || hh % SH != 0) continue;
    const int oh = hh / SH;
    if (oh >= OH) continue;
    for (int kw = 0; kw < KW; ++kw) {
        const int ww = w + PL - kw * DW;
        if (ww < 0 || ww % SW != 0) continue;
        const int ow = ww / SW;
        if (ow >= OW) continue;
        acc = acc + cols[((((n * OH + oh) * OW + ow) * KH + kh) * KW + kw) * C + c];
    }
}
x = acc;
"""


def _valid_range(size: int, out: int, stride: int, offset: int) -> tuple[int, int]:
    """Outputs ``o`` in ``[lo, hi)`` whose tap ``o*stride + offset`` lies inside ``[0, size)``."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = 0 if size - 1 - offset < 0 else min(out, (size - 1 - offset) // stride + 1)
    return lo, max(lo, hi)


def _offset_taps(g: ConvGeometry, kh: int, kw: int) -> tuple[slice, slice, slice, slice]:
    """For kernel offset (kh, kw): the output rows/columns that read inside the input, and
    the input rows/columns they read (padding is never materialised)."""
    top = kh * g.dilation_h - g.pad_top
    left = kw * g.dilation_w - g.pad_left
    r0, r1 = _valid_range(g.height, g.out_h, g.stride_h, top)
    c0, c1 = _valid_range(g.width, g.out_w, g.stride_w, left)
    in_rows = slice(r0 * g.stride_h + top, (r1 - 1) * g.stride_h + top + 1, g.stride_h)
    in_cols = slice(c0 * g.stride_w + left, (c1 - 1) * g.stride_w + left + 1, g.stride_w)
    if r1 <= r0 or c1 <= c0:
        in_rows = in_cols = slice(0, 0)
    return slice(r0, r1), slice(c0, c1), in_rows, in_cols


def _im2col_by_offsets(x: Any, g: ConvGeometry, cols: Any) -> None:
    """One strided copy per kernel offset: best when rows are short (few channels)."""
    padded = any((g.pad_top, g.pad_left, g.pad_bottom, g.pad_right))
    for kh in range(g.kernel_h):
        for kw in range(g.kernel_w):
            out_rows, out_cols, in_rows, in_cols = _offset_taps(g, kh, kw)
            target = cols[:, :, :, kh, kw, :]
            if padded:
                # Taps that fall into the zero padding (the buffer may hold an older batch).
                target[:, : out_rows.start] = 0
                target[:, out_rows.stop :] = 0
                target[:, :, : out_cols.start] = 0
                target[:, :, out_cols.stop :] = 0
            if in_rows.stop > in_rows.start:
                target[:, out_rows, out_cols, :] = x[:, in_rows, in_cols, :]


def im2col_taps(x: Any, g: ConvGeometry, out: Any) -> Any:
    """NumPy: the receptive fields as columns, ``(KH*KW*C, N*OH*OW)`` (tap-major rows).

    The transpose of :func:`im2col`'s rows. With few input channels (a first layer on
    images) each tap's row is filled by one copy of contiguous image rows, where
    :func:`im2col` would write ``C`` floats at a time; ``rows.T @ kernel`` is the same GEMM.
    Only the first ``KH*KW*C`` rows of ``out`` are written (callers may keep extra rows,
    e.g. ones for the bias).

    Args:
        x: NHWC input of shape ``g.input_shape`` (any strides).
        g: The convolution's geometry.
        out: Buffer with at least ``KH*KW*C`` rows of ``N*OH*OW`` columns, ``x.dtype``.
    """
    taps = out[: g.kernel_h * g.kernel_w * g.channels].reshape(
        g.kernel_h, g.kernel_w, g.channels, g.batch, g.out_h, g.out_w
    )
    pixels = x.transpose(3, 0, 1, 2)
    padded = any((g.pad_top, g.pad_left, g.pad_bottom, g.pad_right))
    for kh in range(g.kernel_h):
        for kw in range(g.kernel_w):
            out_rows, out_cols, in_rows, in_cols = _offset_taps(g, kh, kw)
            target = taps[kh, kw]
            if padded:
                # Taps that fall into the zero padding (the buffer may hold an older batch).
                target[:, :, : out_rows.start] = 0
                target[:, :, out_rows.stop :] = 0
                target[:, :, :, : out_cols.start] = 0
                target[:, :, :, out_cols.stop :] = 0
            if in_rows.stop > in_rows.start:
                target[:, :, out_rows, out_cols] = pixels[:, :, in_rows, in_cols]
    return out


def _im2col_numpy(x: Any, *args: Any) -> None:
    *scalars, cols = args
    g = _geometry_from_scalars(x.shape[0], scalars)
    if g.channels < 8:
        _im2col_by_offsets(x, g, cols)
        return
    if any((g.pad_top, g.pad_left, g.pad_bottom, g.pad_right)):
        padded = numpy.empty(
            (g.batch, g.pad_top + g.height + g.pad_bottom, g.pad_left + g.width + g.pad_right,
             g.channels),
            dtype=x.dtype,
        )  # fmt: skip
        padded.fill(0.0)
        padded[:, g.pad_top : g.pad_top + g.height, g.pad_left : g.pad_left + g.width] = x
        x = padded
    # One strided copy of a windows view: the rows buffer is written once, in order (a copy
    # per kernel offset would stream the whole buffer kh*kw times).
    sn, sh, sw, sc = x.strides
    windows = as_strided(
        x,
        shape=g.cols_shape,
        strides=(sn, sh * g.stride_h, sw * g.stride_w, sh * g.dilation_h, sw * g.dilation_w, sc),
        writeable=False,
    )
    numpy.copyto(cols, windows)


def _col2im_numpy(cols: Any, *args: Any) -> None:
    *scalars, x = args
    g = _geometry_from_scalars(x.shape[0], scalars)
    x[...] = 0
    for kh in range(g.kernel_h):
        for kw in range(g.kernel_w):
            out_rows, out_cols, in_rows, in_cols = _offset_taps(g, kh, kw)
            if in_rows.stop > in_rows.start:
                x[:, in_rows, in_cols, :] += cols[:, out_rows, out_cols, kh, kw, :]


def _geometry_from_scalars(batch: int, scalars: list[Any]) -> ConvGeometry:
    h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl = (int(s) for s in scalars)
    return ConvGeometry(batch, h, w, c, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow)


im2col_op = ElementwiseOp(
    "im2col_nhwc", "raw T x, " + _SCALAR_PARAMS, "T cols", _IM2COL_BODY, _im2col_numpy
)
col2im_op = ElementwiseOp(
    "col2im_nhwc", "raw T cols, " + _SCALAR_PARAMS, "T x", _COL2IM_BODY, _col2im_numpy
)


def im2col(x: Any, g: ConvGeometry, out: Any = None) -> Any:
    """Rows of receptive fields ``(N, OH, OW, KH, KW, C)`` of the NHWC array ``x``.

    Args:
        x: Input of shape ``g.input_shape`` (any strides).
        g: The convolution's geometry.
        out: Buffer of ``g.cols_shape`` and ``x.dtype`` to fill; default ``None`` (a new one).
    """
    if out is None:
        out = get_array_module(x).empty(g.cols_shape, dtype=x.dtype)
    im2col_op(_for_kernel(x), *_kernel_scalars(g), out)
    return out


def col2im(cols: Any, g: ConvGeometry, out: Any = None) -> Any:
    """The NHWC array whose im2col's adjoint is ``cols``: entries summed back onto pixels.

    Args:
        cols: Array of ``g.cols_shape``, or the same entries as 2-D rows.
        g: The convolution's geometry.
        out: Buffer of ``g.input_shape`` to overwrite; default ``None`` (a new one).
    """
    xp = get_array_module(cols)
    if out is None:
        out = xp.empty(g.input_shape, dtype=cols.dtype)
    col2im_op(_for_kernel(cols).reshape(g.cols_shape), *_kernel_scalars(g), out)
    return out


def _for_kernel(x: Any) -> Any:
    """The CUDA kernels index raw C-ordered memory; the NumPy twins take any strides."""
    if backend() == "cupy":
        return get_array_module(x).ascontiguousarray(x)
    return x


def _kernel_scalars(g: ConvGeometry) -> tuple[Any, ...]:
    if backend() == "cupy":
        return tuple(numpy.int32(s) for s in g.scalars())
    return g.scalars()


def input_gradient_by_offsets(
    grad_rows: Any, kernel: Any, g: ConvGeometry, part: Any, out: Any = None
) -> Any:
    """NumPy: ``col2im(grad_rows @ kernel.T)`` without the ``(rows, kh*kw*C)`` intermediate.

    For each kernel offset, one GEMM ``grad_rows @ kernel[kh, kw].T`` (into ``part``, shape
    ``(rows, C)``) is added straight onto the input pixels that offset read. With many
    channels this beats one big GEMM plus a col2im that would stream the big intermediate
    kh*kw times.

    Args:
        grad_rows: ``(N*OH*OW, F)`` gradient w.r.t. the convolution's output.
        kernel: ``(KH, KW, C, F)``.
        g: The convolution's geometry.
        part: Scratch buffer ``(N*OH*OW, C)``.
        out: Buffer of ``g.input_shape`` to overwrite; default ``None`` (a new one).
    """
    grad_x = numpy.empty(g.input_shape, dtype=grad_rows.dtype) if out is None else out
    # Not numpy.zeros: a large calloc maps fresh pages, and faulting them in costs more
    # than the adds.
    grad_x.fill(0.0)
    part_pixels = part.reshape(g.batch, g.out_h, g.out_w, g.channels)
    for kh in range(g.kernel_h):
        for kw in range(g.kernel_w):
            out_rows, out_cols, in_rows, in_cols = _offset_taps(g, kh, kw)
            if in_rows.stop <= in_rows.start:
                continue
            numpy.matmul(grad_rows, kernel[kh, kw].T, out=part)
            grad_x[:, in_rows, in_cols] += part_pixels[:, out_rows, out_cols]
    return grad_x


# Rows per chunk in the fused NumPy loops below: about half a megabyte of output, so the
# epilogue (bias, ReLU, its mask) works on rows still in the core's cache instead of making
# extra passes over arrays of tens of megabytes.
_CHUNK_BYTES = 1 << 19


def _chunk_rows(row_bytes: int) -> int:
    return max(64, _CHUNK_BYTES // max(1, row_bytes))


# Arrays of zeros per (block shape, dtype), read-only: numpy.maximum against a scalar takes
# a slow broadcasting loop (~3x slower than against an array on float32 in NumPy 2.4).
_ZERO_BLOCKS: dict[tuple[tuple[int, int], Any], Any] = {}


def _zero_block(shape: tuple[int, int], dtype: Any) -> Any:
    key = (shape, numpy.dtype(dtype))
    block = _ZERO_BLOCKS.get(key)
    if block is None:
        block = _ZERO_BLOCKS[key] = numpy.zeros(shape, dtype=dtype)
        block.flags.writeable = False
    return block


def relu_in_place(x: Any) -> Any:
    """NumPy: ``numpy.maximum(x, 0, out=x)`` (NaN kept) a cache-sized block at a time,
    against an array of zeros (much faster than against the scalar).

    Args:
        x: Float array, its last axis contiguous; other layouts fall back to
            ``numpy.maximum`` with the scalar.
    """
    if not x.flags.c_contiguous or x.ndim == 0:
        return numpy.maximum(x, 0.0, out=x)
    rows = x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x.reshape(1, -1)
    step = _chunk_rows(rows.shape[1] * rows.itemsize)
    zeros = _zero_block((min(step, len(rows)), rows.shape[1]), rows.dtype)
    for start in range(0, len(rows), step):
        block = rows[start : start + step]
        numpy.maximum(block, zeros[: len(block)], out=block)
    return x


def gemm_bias_relu(a: Any, b: Any, out: Any, bias: Any = None, relu: bool = False) -> Any:
    """NumPy: ``out = relu(a @ b + bias)`` a block of rows at a time (GEMM, then the rest
    while the block is in cache).

    Args:
        a: ``(M, K)`` (any BLAS-compatible strides, e.g. a transposed buffer).
        b: ``(K, N)``.
        out: ``(M, N)`` C-contiguous result buffer.
        bias: ``(N,)`` added to every row; default ``None`` (none).
        relu: Whether to clamp at zero afterwards (NaN kept, as ``numpy.maximum``);
            default ``False``.
    """
    step = _chunk_rows(out.shape[1] * out.itemsize)
    zeros = _zero_block((min(step, len(out)), out.shape[1]), out.dtype) if relu else None
    for start in range(0, len(out), step):
        block = out[start : start + step]
        numpy.matmul(a[start : start + step], b, out=block)
        if bias is not None:
            block += bias
        if relu:
            numpy.maximum(block, zeros[: len(block)], out=block)
    return out


def relu_weight_gradient(cols: Any, grad: Any, y: Any, out: Any, scratch: Any) -> Any:
    """NumPy: ``out = cols @ (grad * (y > 0))`` without materialising the masked gradient.

    For a ReLU convolution whose input gradient nobody needs: the masked gradient of each
    block of pixels is formed in ``scratch`` (in cache) and multiplied at once.

    Args:
        cols: ``(K, M)`` tap-major columns (see :func:`im2col_taps`).
        grad: ``(M, N)`` gradient w.r.t. the ReLU's output.
        y: ``(M, N)`` the ReLU's output.
        out: ``(K, N)`` result.
        scratch: ``(rows, N)`` float buffer and ``(rows, N)`` bool buffer as a pair, any
            ``rows`` >= 1 (the block size).
    """
    masked, mask = scratch
    step = len(masked)
    part = numpy.empty_like(out)
    for start in range(0, len(grad), step):
        stop = min(start + step, len(grad))
        rows = slice(0, stop - start)
        numpy.greater(y[start:stop], 0.0, out=mask[rows])
        numpy.multiply(grad[start:stop], mask[rows], out=masked[rows])
        target = out if start == 0 else part
        numpy.matmul(cols[:, start:stop], masked[rows], out=target)
        if start:
            out += part
    return out


def relu_block_rows(filters: int, itemsize: int) -> int:
    """The block size :func:`relu_weight_gradient` works best with for ``filters``."""
    return _chunk_rows(filters * itemsize)
