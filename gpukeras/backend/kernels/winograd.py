"""NumPy: Winograd F(4x4, 3x3) for 3x3, stride-1 convolutions (forward and both gradients).

Every 4x4 block of outputs comes from a 6x6 input tile: ``Y = A^T [(G g G^T) . (B^T d B)] A``
(Lavin & Gray, 2016, points 0, +-1, +-2, infinity). Over a batch, the elementwise product
becomes 36 GEMMs ``(tiles, C) @ (C, F)``, one per transform point, which need 4x fewer
multiplications than im2col's ``(pixels, 9*C) @ (9*C, F)``. The gradients are the adjoints of
the same steps: the kernel gradient is one GEMM per point ``V^T @ dM``, and the input gradient
``dM @ U^T`` per point, transformed back and added over overlapping tiles.

The transforms work in a pixel-major ``(H, W, N*C)`` layout, so every step is a small
matrix (6x6, 4x6) applied to rows of ``N*C`` contiguous floats: a batched ``numpy.matmul``
instead of elementwise passes over channel-sized strides.
"""

from __future__ import annotations

from typing import Any

import numpy
from numpy.lib.stride_tricks import as_strided

from gpukeras.backend.kernels.conv import ConvGeometry

__all__ = ["WinogradF43"]

_BT = numpy.array(
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    dtype=numpy.float32,
)
_G = numpy.array(
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ],
    dtype=numpy.float32,
)
_AT = numpy.array(
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    dtype=numpy.float32,
)
_B, _GT, _A = (numpy.ascontiguousarray(m.T) for m in (_BT, _G, _AT))
# Column 1 of A^T is all ones: a value added to transform point (1, 1) of every tile's
# products reaches each of its 16 outputs once (the bias, folded in before the transform).
_BIAS_POINT = 1 * 6 + 1


def copy_pixels(destination: Any, source: Any) -> None:
    """``destination[...] = source``, each pixel's contiguous channels copied as one block."""
    pixel = numpy.dtype((numpy.void, source.shape[-1] * source.itemsize))
    if source.strides[-1] != source.itemsize or destination.strides[-1] != source.itemsize:
        numpy.copyto(destination, source)
        return
    numpy.copyto(destination.view(pixel)[..., 0], source.view(pixel)[..., 0])


# Columns per call when a 4x6/6x6 matrix multiplies long rows: blocks of ~32K columns keep
# both operands in the core's cache (about twice as fast as one call over ~400K columns).
_COLUMN_BLOCK = 1 << 15


def _transform_rows(matrix: Any, rows: Any, out: Any) -> None:
    """``out = matrix @ rows`` (any leading batch axes), a block of columns at a time."""
    width = rows.shape[-1]
    for start in range(0, width, _COLUMN_BLOCK):
        block = slice(start, start + _COLUMN_BLOCK)
        numpy.matmul(matrix, rows[..., block], out=out[..., block])


class WinogradF43:
    """Buffers and steps of one 3x3, stride-1, undilated convolution geometry (NumPy).

    Args:
        g: The geometry (``kernel 3x3``, strides and dilation 1; any padding).
        filters: Output channels ``F``.
        dtype: The arrays' dtype (float32).
    """

    @staticmethod
    def applies(g: ConvGeometry) -> bool:
        """Whether ``g`` is a convolution this class computes."""
        return (g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w) == (
            3, 3, 1, 1, 1, 1,
        )  # fmt: skip

    def __init__(self, g: ConvGeometry, filters: int, dtype: Any) -> None:
        self.g, self.filters = g, filters
        n, c, f = g.batch, g.channels, filters
        self.tiles_h, self.tiles_w = -(-g.out_h // 4), -(-g.out_w // 4)
        th, tw = self.tiles_h, self.tiles_w
        self.padded_w = 4 * tw + 2
        tiles = th * tw * n

        def empty(*shape: int) -> Any:
            return numpy.empty(shape, dtype=dtype)

        # Zero padding around the image: written once here, the image part every step.
        self._x = numpy.zeros((4 * th + 2, self.padded_w, n, c), dtype=dtype)
        self._rows = empty(th, 6, self.padded_w, n * c)  # also the input gradient's rows
        self._v = empty(36, tiles, c)  # transformed input; the input gradient's dV after it
        self._m = empty(36, tiles, f)  # products M, and their gradient dM
        self._s = empty(4, 6, th, tw, n * f)
        self._y = empty(4 * th, 4 * tw, n, f)  # outputs in tiles, and their gradient
        self._u = empty(36, c, f)
        self._du = empty(36, c, f)
        self._u_t = empty(36, f, c)  # U^T contiguous: the input gradient's GEMM packs faster
        self._half_u = empty(6, 3, c * f)
        self._input_gradient_buffers: tuple[Any, Any, Any] | None = None  # on first use

    def _gradient_buffers(self) -> tuple[Any, Any, Any]:
        """Scratch of the input gradient, allocated when first needed (not for inference)."""
        if self._input_gradient_buffers is None:
            th, tw, n, c = self.tiles_h, self.tiles_w, self.g.batch, self.g.channels
            dtype = self._v.dtype
            self._input_gradient_buffers = (
                numpy.empty(th * tw * 2 * 6 * n * c, dtype=dtype),  # the overlapping columns
                numpy.empty((th, 6, 4 * tw + 4, n * c), dtype=dtype),
                numpy.empty((4 * th + 4, self.padded_w, n, c), dtype=dtype),
            )
        return self._input_gradient_buffers

    # -- forward ----------------------------------------------------------
    def forward(self, x: Any, kernel: Any, z: Any, bias: Any = None) -> Any:
        """``z`` (``(N, OH, OW, F)``, C-ordered) = the convolution of ``x`` (NHWC, any
        strides) with ``kernel`` ``(3, 3, C, F)``, plus ``bias`` (``(F,)``; default
        ``None``, none); no activation."""
        self._transform_kernel(kernel)
        self._transform_input(x)
        numpy.matmul(self._v, self._u, out=self._m)
        if bias is not None:
            self._m[_BIAS_POINT] += bias
        self._transform_output(z)
        return z

    def _transform_kernel(self, kernel: Any) -> None:
        c, f = self.g.channels, self.filters
        numpy.matmul(_G, kernel.reshape(3, -1), out=self._half_u.reshape(6, -1))
        numpy.matmul(_G, self._half_u, out=self._u.reshape(6, 6, c * f))

    def _transform_input(self, x: Any) -> None:
        g, th, tw = self.g, self.tiles_h, self.tiles_w
        image = self._x[g.pad_top : g.pad_top + g.height, g.pad_left : g.pad_left + g.width]
        copy_pixels(image.transpose(2, 0, 1, 3), x)
        row = self._x.strides[0]
        tile_rows = as_strided(
            self._x, (th, 6, row // self._x.itemsize), (4 * row, row, self._x.itemsize)
        )
        _transform_rows(_BT, tile_rows, self._rows.reshape(th, 6, -1))
        pixel = self._rows.strides[2]
        r_i, r_a = self._rows.strides[:2]
        columns = as_strided(
            self._rows,
            (th, 6, tw, 6, self._rows.shape[3]),
            (r_i, r_a, 4 * pixel, pixel, self._rows.itemsize),
        )
        v = self._v.reshape(6, 6, th, tw, -1)
        numpy.matmul(_BT, columns, out=v.transpose(2, 0, 3, 1, 4))

    def _transform_output(self, z: Any) -> None:
        g, th, tw = self.g, self.tiles_h, self.tiles_w
        _transform_rows(_AT, self._m.reshape(6, -1), self._s.reshape(4, -1))
        y = self._y.reshape(th, 4, tw, 4, -1)
        numpy.matmul(_AT, self._s.transpose(0, 2, 3, 1, 4), out=y.transpose(1, 0, 2, 3, 4))
        copy_pixels(z, self._y[: g.out_h, : g.out_w].transpose(2, 0, 1, 3))

    # -- backward ---------------------------------------------------------
    def backward(
        self, grad_z: Any, kernel_grad: Any = None, grad_x: Any = None, bias_grad: Any = None
    ) -> None:
        """Gradients of the last :meth:`forward` for ``grad_z`` (``(N, OH, OW, F)``, the
        gradient of its result).

        Args:
            grad_z: The gradient with respect to ``z``.
            kernel_grad: ``(3, 3, C, F)`` array to overwrite with the kernel gradient;
                default ``None`` (not computed).
            grad_x: NHWC array to overwrite with the input gradient; default ``None`` (not
                computed).
            bias_grad: ``(F,)`` array to overwrite with the bias gradient; default ``None``
                (not computed).
        """
        self._output_gradient(grad_z)
        if bias_grad is not None:
            self._m[_BIAS_POINT].sum(axis=0, out=bias_grad)
        if kernel_grad is not None:
            self._kernel_gradient(kernel_grad)
        if grad_x is not None:
            numpy.copyto(self._u_t, self._u.transpose(0, 2, 1))
            numpy.matmul(self._m, self._u_t, out=self._v)
            self._input_gradient(grad_x)

    def _output_gradient(self, grad_z: Any) -> None:
        """dM = A dY A^T per tile (the adjoint of the output transform)."""
        g, th, tw = self.g, self.tiles_h, self.tiles_w
        self._y[g.out_h :] = 0  # outputs past the image (whole tiles only) get no gradient
        self._y[: g.out_h, g.out_w :] = 0
        copy_pixels(self._y[: g.out_h, : g.out_w].transpose(2, 0, 1, 3), grad_z)
        y = self._y.reshape(th, 4, tw, 4, -1).transpose(1, 0, 2, 3, 4)
        numpy.matmul(_A, y, out=self._s.transpose(0, 2, 3, 1, 4))
        _transform_rows(_A, self._s.reshape(4, -1), self._m.reshape(6, -1))

    def _kernel_gradient(self, kernel_grad: Any) -> None:
        c, f = self.g.channels, self.filters
        numpy.matmul(self._v.transpose(0, 2, 1), self._m, out=self._du)
        half = self._half_u.reshape(3, 6, c * f)  # G^T dU, then (G^T dU) G per kernel row
        numpy.matmul(_GT, self._du.reshape(6, -1), out=half.reshape(3, -1))
        numpy.matmul(_GT, half, out=kernel_grad.reshape(3, 3, c * f))

    def _input_gradient(self, grad_x: Any) -> None:
        """The adjoint of the input transform: B dV B^T per tile, summed where tiles
        overlap (two rows and two columns), then cropped to the image.

        Tiles start every 4 pixels and span 6: rows/columns 0-3 of each tile's result go
        straight to their place, and 4-5 (the next tile's 0-1) are added there after."""
        g, th, tw = self.g, self.tiles_h, self.tiles_w
        overlap, dr, dx_padded = self._gradient_buffers()
        # Columns: dr[i, a, 4j + q] = sum_b B[q, b] dV[a, b, i, j].
        dv = self._v.reshape(6, 6, th, tw, -1).transpose(0, 2, 3, 1, 4)
        width = dv.shape[-1]
        own = dr[:, :, : 4 * tw].reshape(th, 6, tw, 4, width).transpose(1, 0, 2, 3, 4)
        numpy.matmul(_B[:4], dv, out=own)
        spill = overlap[: 6 * th * tw * 2 * width].reshape(6, th, tw, 2, width)
        numpy.matmul(_B[4:], dv, out=spill)
        dr[:, :, 4 * tw :] = 0
        next_tiles = dr[:, :, 4 : 4 * tw + 4].reshape(th, 6, tw, 4, width)[:, :, :, :2]
        next_tiles += spill.transpose(1, 0, 2, 3, 4)
        # Rows: dx[4i + k] = sum_a B[k, a] dr[i, a].
        row_view = as_strided(
            dr, (th, 6, self.padded_w * dr.shape[3]), (*dr.strides[:2], dr.itemsize)
        )
        dx = dx_padded.reshape(4 * th + 4, -1)
        _transform_rows(_B[:4], row_view, dx[: 4 * th].reshape(th, 4, -1))
        spill = self._rows.reshape(-1)[: th * 2 * dx.shape[1]].reshape(th, 2, -1)
        _transform_rows(_B[4:], row_view, spill)
        dx[4 * th :] = 0
        dx[4 : 4 * th + 4].reshape(th, 4, -1)[:, :2] += spill
        image = dx_padded[g.pad_top : g.pad_top + g.height, g.pad_left : g.pad_left + g.width]
        copy_pixels(grad_x, image.transpose(2, 0, 1, 3))
