"""Conv2DTranspose: the adjoint of a convolution, run as ``col2im(x @ kernel.T)``.

A transposed convolution maps each input pixel to a ``(kh, kw, filters)`` patch of the
output and adds overlapping patches; that is exactly the input gradient of the convolution
that goes the other way (from the output's size back to the input's), so it reuses the same
im2col/col2im machinery with the roles swapped. Keras stores its kernel as
``(kh, kw, filters, in_channels)`` - the kernel of that reverse convolution.

Output sizes and the zeros before the input follow Keras 3's JAX backend
(``compute_conv_transpose_padding_args_for_jax``), which matches TensorFlow's.
"""

from __future__ import annotations

import math
from typing import Any

from gpukeras import backend as K
from gpukeras import constraints, initializers, regularizers
from gpukeras._legacy import legacy_arguments
from gpukeras.backend.kernels.conv import ConvGeometry, col2im, im2col
from gpukeras.layers import _conv_arguments as args
from gpukeras.layers._convolution import _LEGACY_CONV, BaseConv
from gpukeras.layers._layer import Shape
from gpukeras.layers._serialization import register


def transpose_padding(
    size: int, kernel: int, stride: int, dilation: int, padding: str, output_padding: Any
) -> tuple[int, int]:
    """(output size, zeros before the output in the reverse convolution) along one axis."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        left, right = span - 1, span - 1 + extra
    else:
        if output_padding is None:
            total = stride + span - 2
        else:
            total = span + span % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, span - 1)
        right = total - left
    out = (size - 1) * stride + 1 + left + right - span + 1
    return out, span - 1 - left


@register
class Conv2DTranspose(BaseConv):
    """Transposed 2-D convolution (Keras 3's ``Conv2DTranspose``, "deconvolution").

    Kernel shape ``(kh, kw, filters, in_channels)``, bias ``(filters,)``. With
    ``padding='same'`` and no ``output_padding`` the output is ``stride`` times the input;
    with ``'valid'`` it is ``size * stride + max(kernel - stride, 0)``.

    Args:
        filters: Positive int, the number of output channels. Required.
        kernel_size: Int or tuple of 2 ints. Required.
        strides: Int or tuple of 2 ints; default ``(1, 1)``.
        padding: ``'valid'`` (default) or ``'same'``.
        output_padding: Int or tuple of 2 ints, extra rows/columns on the output (each
            smaller than its stride); default ``None`` (inferred as Keras does).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: Int or tuple of 2 ints; default ``(1, 1)``.
        activation: Default ``None`` (linear).
        use_bias: Default ``True``.
        kernel_initializer: Default ``'glorot_uniform'``.
        bias_initializer: Default ``'zeros'``.
        kernel_regularizer: Default ``None``.
        bias_regularizer: Default ``None``.
        activity_regularizer: Default ``None``.
        kernel_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        bias_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        **kwargs: :class:`Layer` arguments.
    """

    call_state = ("_inputs", "_g", "_z", "_y")

    @legacy_arguments("Conv2DTranspose", _LEGACY_CONV)
    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            2, filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
            activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs,
        )  # fmt: skip
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = args.normalize_tuple(
                output_padding, 2, "output_padding", allow_zero=True
            )
            for pad, stride in zip(self.output_padding, self.strides):
                if pad >= stride:
                    raise ValueError(
                        "Conv2DTranspose: each `output_padding` must be smaller than its "
                        f"stride. Received: output_padding={output_padding!r}, "
                        f"strides={self.strides}"
                    )

    def build(self, input_shape: Shape) -> None:
        channels = self.input_channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, self.filters, channels),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                (self.filters,),
                self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _axis_sizes(self, sizes: tuple[Any, ...]) -> list[tuple[Any, int]]:
        paddings = self.output_padding or (None, None)
        found = []
        for size, k, s, d, extra in zip(
            sizes, self.kernel_size, self.strides, self.dilation_rate, paddings
        ):
            if size is None:
                found.append((None, 0))
            else:
                found.append(transpose_padding(int(size), k, s, d, self.padding, extra))
        return found

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        args.check_input_rank(self, input_shape, 2)
        sizes = self._axis_sizes(args.spatial_dims(input_shape, self.data_format))
        spatial = tuple(out for out, _ in sizes)
        return args.with_spatial(input_shape, self.data_format, spatial, self.filters)

    def _make_geometry(self, nhwc_shape: tuple[int, ...]) -> ConvGeometry:
        """The reverse convolution: from this layer's output back to its input."""
        batch, height, width, _ = nhwc_shape
        (out_h, pad_top), (out_w, pad_left) = self._axis_sizes((height, width))
        return ConvGeometry(
            batch, out_h, out_w, self.filters, *self.kernel_size, *self.strides,
            *self.dilation_rate, pad_top, pad_left, height, width,
        )  # fmt: skip

    def forward(self, x: Any, training: bool = False) -> Any:
        xp = K.get_array_module(x)
        x4 = args.to_nhwc(x, 2, self.data_format)
        g = self.geometry(tuple(x4.shape))
        inputs = xp.ascontiguousarray(x4).reshape(-1, x4.shape[-1])
        patches = self._buffers.get("cols", (len(inputs), math.prod(g.cols_shape[3:])), x.dtype)
        xp.matmul(inputs, self.kernel.value.reshape(-1, inputs.shape[1]).T, out=patches)
        z = col2im(patches, g)
        if self.bias is not None:
            z += self.bias.value
        y = args.activate(self.activation, z)
        self._inputs, self._g, self._z, self._y = inputs, g, z, y
        return args.from_nhwc(y, 2, self.data_format)

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        g = self._g
        grad_z = args.activation_backward(
            self.activation, self._z, self._y, args.to_nhwc(grad, 2, self.data_format)
        )
        rows = im2col(grad_z, g, self._buffers.get("grad_cols", g.cols_shape, grad_z.dtype))
        rows = rows.reshape(len(self._inputs), -1)
        kernel = self.kernel.value.reshape(rows.shape[1], -1)
        if self.trainable:
            xp.matmul(rows.T, self._inputs, out=self.kernel.grad.reshape(kernel.shape))
            if self.bias is not None:
                grad_z.reshape(-1, self.filters).sum(axis=0, out=self.bias.grad)
        grad_x = (rows @ kernel).reshape(g.batch, g.out_h, g.out_w, -1)
        return args.from_nhwc(grad_x, 2, self.data_format)

    def get_config(self) -> dict[str, Any]:
        return {
            **self.config_base(),
            "filters": self.filters,
            "output_padding": self.output_padding,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            **self.config_tail(),
        }
