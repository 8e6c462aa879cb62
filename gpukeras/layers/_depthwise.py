"""DepthwiseConv2D and SeparableConv2D: one small kernel per input channel.

Both start like a convolution (im2col rows ``(kh, kw, c)``), but each channel ``c`` only
meets its own ``(kh*kw, depth_multiplier)`` kernel slice, so instead of one GEMM the rows are
combined tap by tap: kh*kw broadcasted multiply-adds over ``(rows, channels, multiplier)``.
SeparableConv2D follows the depthwise step with a 1x1 convolution, which is one GEMM.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras import constraints, initializers, regularizers
from gpukeras._legacy import legacy_arguments
from gpukeras.backend.kernels.conv import col2im, im2col
from gpukeras.layers import _conv_arguments as args
from gpukeras.layers._add_weight import set_constraints
from gpukeras.layers._convolution import BaseConv, check_positive_int
from gpukeras.layers._layer import Shape
from gpukeras.layers._serialization import register


def depthwise_forward(rows: Any, kernel: Any) -> Any:
    """``out[m, c, d] = sum_k rows[m, k, c] * kernel[k, c, d]`` as a ``(M, C * d)`` array."""
    xp = K.get_array_module(rows)
    taps, channels, multiplier = kernel.shape
    out = xp.zeros((rows.shape[0], channels, multiplier), dtype=rows.dtype)
    for k in range(taps):
        out += rows[:, k, :, None] * kernel[k]
    return out.reshape(rows.shape[0], -1)


def depthwise_backward(rows: Any, kernel: Any, grad: Any, kernel_grad: Any) -> Any:
    """Fill ``kernel_grad`` (or skip it when ``None``); return the rows' gradient."""
    xp = K.get_array_module(rows)
    taps, channels, multiplier = kernel.shape
    grad = grad.reshape(rows.shape[0], channels, multiplier)
    grad_rows = xp.empty(rows.shape, dtype=rows.dtype)
    for k in range(taps):
        if kernel_grad is not None:
            kernel_grad[k] = (rows[:, k, :, None] * grad).sum(axis=0)
        grad_rows[:, k] = (grad * kernel[k]).sum(axis=-1)
    return grad_rows


class _DepthwiseBase(BaseConv):
    """The depthwise step shared by both layers."""

    call_state = ("_rows", "_g", "_z", "_y")

    def _depthwise_build(self, input_shape: Shape) -> int:
        channels = self.input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel",
            (*self.kernel_size, channels, self.depth_multiplier),
            self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        return channels

    def _depthwise_forward(self, x: Any) -> Any:
        x4 = args.to_nhwc(x, 2, self.data_format)
        g = self.geometry(tuple(x4.shape))
        rows = im2col(x4, g, self._buffers.get("cols", g.cols_shape, x.dtype))
        taps = self.kernel_size[0] * self.kernel_size[1]
        self._rows, self._g = rows.reshape(-1, taps, g.channels), g
        kernel = self.depthwise_kernel.value.reshape(taps, g.channels, -1)
        return depthwise_forward(self._rows, kernel)

    def _depthwise_backward(self, grad: Any) -> Any:
        taps = self.kernel_size[0] * self.kernel_size[1]
        kernel = self.depthwise_kernel.value.reshape(taps, self._g.channels, -1)
        kernel_grad = None
        if self.trainable:
            kernel_grad = self.depthwise_kernel.grad.reshape(kernel.shape)
        grad_rows = depthwise_backward(self._rows, kernel, grad, kernel_grad)
        return args.from_nhwc(col2im(grad_rows, self._g), 2, self.data_format)

    def _depthwise_config(self) -> dict[str, Any]:
        return {
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
        }


@register
class DepthwiseConv2D(_DepthwiseBase):
    """Depthwise 2-D convolution: each input channel convolved with its own filters.

    Kernel ``depthwise_kernel`` of shape ``(kh, kw, in_channels, depth_multiplier)``, bias
    ``(in_channels * depth_multiplier,)``; output channel ``c * depth_multiplier + d``.

    Args:
        kernel_size: Int or tuple of 2 ints. Required.
        strides: Default ``(1, 1)``.
        padding: ``'valid'`` (default) or ``'same'``.
        depth_multiplier: Positive int, filters per input channel; default ``1``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: Default ``(1, 1)``.
        activation: Default ``None`` (linear).
        use_bias: Default ``True``.
        depthwise_initializer: Default ``'glorot_uniform'``.
        bias_initializer: Default ``'zeros'``.
        depthwise_regularizer: Default ``None``.
        bias_regularizer: Default ``None``.
        activity_regularizer: Default ``None``.
        depthwise_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        bias_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        **kwargs: :class:`Layer` arguments.
    """

    @legacy_arguments("DepthwiseConv2D", args.LEGACY_DIM_ORDERING)
    def __init__(
        self,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            2, None, kernel_size, strides, padding, data_format, dilation_rate, 1,
            activation, use_bias, "glorot_uniform", bias_initializer, None,
            bias_regularizer, activity_regularizer, None, bias_constraint, **kwargs,
        )  # fmt: skip
        set_constraints(self, depthwise_constraint=depthwise_constraint)
        self.depth_multiplier = check_positive_int(
            depth_multiplier, "depth_multiplier", "DepthwiseConv2D"
        )
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)

    def output_channels(self, input_shape: Shape) -> Any:
        channels = input_shape[args.channel_axis(self.data_format, len(input_shape))]
        return None if channels is None else int(channels) * self.depth_multiplier

    def build(self, input_shape: Shape) -> None:
        channels = self._depthwise_build(input_shape)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                (channels * self.depth_multiplier,),
                self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def forward(self, x: Any, training: bool = False) -> Any:
        z = self._depthwise_forward(x)
        if self.bias is not None:
            z += self.bias.value
        g = self._g
        self._z = z.reshape(g.batch, g.out_h, g.out_w, -1)
        self._y = args.activate(self.activation, self._z)
        return args.from_nhwc(self._y, 2, self.data_format)

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        grad_z = args.activation_backward(
            self.activation, self._z, self._y, args.to_nhwc(grad, 2, self.data_format)
        )
        grad_z = xp.ascontiguousarray(grad_z).reshape(len(self._rows), -1)
        if self.trainable and self.bias is not None:
            grad_z.sum(axis=0, out=self.bias.grad)
        return self._depthwise_backward(grad_z)

    def get_config(self) -> dict[str, Any]:
        return {**self.config_base(), **self._depthwise_config(), **self.config_tail()}


@register
class SeparableConv2D(_DepthwiseBase):
    """Depthwise convolution followed by a 1x1 convolution mixing the channels.

    Weights (Keras's order and shapes): ``depthwise_kernel`` ``(kh, kw, in_channels,
    depth_multiplier)``, ``pointwise_kernel`` ``(1, 1, in_channels * depth_multiplier,
    filters)``, ``bias`` ``(filters,)``.

    Args:
        filters: Positive int, the number of output channels. Required.
        kernel_size: Int or tuple of 2 ints. Required.
        strides: Default ``(1, 1)``.
        padding: ``'valid'`` (default) or ``'same'``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: Default ``(1, 1)``.
        depth_multiplier: Default ``1``.
        activation: Default ``None`` (linear).
        use_bias: Default ``True``.
        depthwise_initializer: Default ``'glorot_uniform'``.
        pointwise_initializer: Default ``'glorot_uniform'``.
        bias_initializer: Default ``'zeros'``.
        depthwise_regularizer: Default ``None``.
        pointwise_regularizer: Default ``None``.
        bias_regularizer: Default ``None``.
        activity_regularizer: Default ``None``.
        depthwise_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        pointwise_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        bias_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        **kwargs: :class:`Layer` arguments.
    """

    call_state = (*_DepthwiseBase.call_state, "_depthwise_out")

    @legacy_arguments("SeparableConv2D", args.LEGACY_DIM_ORDERING)
    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            2, filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
            activation, use_bias, "glorot_uniform", bias_initializer, None,
            bias_regularizer, activity_regularizer, None, bias_constraint, **kwargs,
        )  # fmt: skip
        set_constraints(
            self,
            depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint,
        )
        self.depth_multiplier = check_positive_int(
            depth_multiplier, "depth_multiplier", "SeparableConv2D"
        )
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)

    def build(self, input_shape: Shape) -> None:
        channels = self._depthwise_build(input_shape)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            (1, 1, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
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

    def forward(self, x: Any, training: bool = False) -> Any:
        self._depthwise_out = self._depthwise_forward(x)
        z = self._depthwise_out @ self.pointwise_kernel.value.reshape(-1, self.filters)
        if self.bias is not None:
            z += self.bias.value
        g = self._g
        self._z = z.reshape(g.batch, g.out_h, g.out_w, self.filters)
        self._y = args.activate(self.activation, self._z)
        return args.from_nhwc(self._y, 2, self.data_format)

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        grad_z = args.activation_backward(
            self.activation, self._z, self._y, args.to_nhwc(grad, 2, self.data_format)
        )
        grad_z = xp.ascontiguousarray(grad_z).reshape(-1, self.filters)
        pointwise = self.pointwise_kernel.value.reshape(-1, self.filters)
        if self.trainable:
            grad_pointwise = self.pointwise_kernel.grad.reshape(pointwise.shape)
            xp.matmul(self._depthwise_out.T, grad_z, out=grad_pointwise)
            if self.bias is not None:
                grad_z.sum(axis=0, out=self.bias.grad)
        return self._depthwise_backward(grad_z @ pointwise.T)

    def get_config(self) -> dict[str, Any]:
        return {
            **self.config_base(),
            "filters": self.filters,
            **self._depthwise_config(),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
            **self.config_tail(),
        }
