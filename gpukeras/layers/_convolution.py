"""Conv1D and Conv2D: im2col rows times the kernel, one GEMM per convolution (per group).

Every convolution runs channels-last in 2-D (a 1-D one has height 1). Forward:
``im2col`` lays each output pixel's receptive field out as a row ``(kh, kw, c)`` in a reused
buffer, and the kernel, stored as Keras stores it (``(*kernel_size, in // groups, filters)``),
reshaped to ``(kh*kw*in, filters)`` multiplies all rows at once. Backward: the kernel gradient
is ``rows.T @ grad``, and the input gradient is ``col2im(grad @ kernel.T)``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy

from gpukeras import activations, constraints, initializers, regularizers
from gpukeras import backend as K
from gpukeras._legacy import legacy_arguments, warn_user
from gpukeras.backend.kernels.conv import (
    ConvGeometry,
    col2im,
    gemm_bias_relu,
    im2col,
    im2col_taps,
    input_gradient_by_offsets,
    relu_block_rows,
    relu_in_place,
    relu_weight_gradient,
)
from gpukeras.backend.kernels.winograd import WinogradF43
from gpukeras.layers import _conv_arguments as args
from gpukeras.layers._add_weight import set_constraints
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register

_LEGACY_CONV = {
    "nb_filter": ("filters", None),
    "border_mode": ("padding", None),
    "subsample": ("strides", None),
    "atrous_rate": ("dilation_rate", None),
    "init": ("kernel_initializer", None),
    "W_regularizer": ("kernel_regularizer", None),
    "b_regularizer": ("bias_regularizer", None),
    "W_constraint": ("kernel_constraint", None),
    "b_constraint": ("bias_constraint", None),
    "bias": ("use_bias", bool),
    **args.LEGACY_DIM_ORDERING,
}
_LEGACY_CONV1D = {
    **_LEGACY_CONV,
    "filter_length": ("kernel_size", None),
    "subsample_length": ("strides", None),
}


def legacy_rows_and_columns(owner: str):
    """Accept Keras 1's ``nb_row=``/``nb_col=`` (together they make ``kernel_size``)."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*positional: Any, **kwargs: Any) -> Any:
            if "nb_row" in kwargs or "nb_col" in kwargs:
                if "kernel_size" in kwargs or len(positional) > 2:
                    raise TypeError(
                        f"{owner} got both `nb_row`/`nb_col` and `kernel_size`; pass only "
                        f"`kernel_size`. Received: nb_row={kwargs.get('nb_row')!r}, "
                        f"nb_col={kwargs.get('nb_col')!r}"
                    )
                if "nb_row" not in kwargs or "nb_col" not in kwargs:
                    raise TypeError(
                        f"{owner} needs both `nb_row` and `nb_col` (or `kernel_size`). "
                        f"Received: nb_row={kwargs.get('nb_row')!r}, "
                        f"nb_col={kwargs.get('nb_col')!r}"
                    )
                rows, columns = kwargs.pop("nb_row"), kwargs.pop("nb_col")
                warn_user(
                    f"{owner}: the arguments `nb_row`/`nb_col` are deprecated; use "
                    f"`kernel_size=({rows}, {columns})` instead. "
                    f"Received: nb_row={rows!r}, nb_col={columns!r}"
                )
                kwargs["kernel_size"] = (rows, columns)
            return function(*positional, **kwargs)

        return wrapper

    return decorate


def check_positive_int(value: Any, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: `{name}` must be a positive int. Received: {name}={value!r}")
    return value


class BaseConv(Layer):
    """Shared arguments, shapes and geometry of the convolution layers (not used directly).

    Args:
        rank: Number of spatial axes (1 or 2).
        filters: Positive int, the number of output channels. Required.
        kernel_size: Int or tuple of ``rank`` ints, the window size. Required.
        strides: Int or tuple; default ``1``. Strides > 1 exclude dilation > 1.
        padding: ``'valid'`` (default), ``'same'`` (output size ``ceil(n / stride)``) or,
            for Conv1D, ``'causal'``.
        data_format: ``'channels_last'`` (default, also for ``None``) or
            ``'channels_first'``.
        dilation_rate: Int or tuple; default ``1``.
        groups: Positive int dividing both the input channels and ``filters``; default ``1``.
        activation: Activation name or function; default ``None`` (linear).
        use_bias: Whether to add a bias; default ``True``.
        kernel_initializer: Default ``'glorot_uniform'``.
        bias_initializer: Default ``'zeros'``.
        kernel_regularizer: Default ``None``.
        bias_regularizer: Default ``None``.
        activity_regularizer: Default ``None``.
        kernel_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        bias_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        **kwargs: :class:`Layer` arguments.
    """

    # im2col rows and gradient scratch; the geometry cache holds nothing of one call.
    call_workspace = {"_buffers": args.Buffers}
    call_caches = ("_geometries",)

    def __init__(
        self,
        rank: int,
        filters: Any,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
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
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        self.rank = rank
        self.filters = (
            check_positive_int(filters, "filters", owner) if filters is not None else None
        )
        self.kernel_size = args.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = args.normalize_tuple(strides, rank, "strides")
        self.padding = args.normalize_padding(padding, allow_causal=rank == 1)
        self.data_format = args.normalize_data_format(data_format)
        self.dilation_rate = args.normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.groups = check_positive_int(groups, "groups", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: `strides > 1` is not supported together with `dilation_rate > 1`. "
                f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}"
            )
        if self.filters is not None and self.filters % self.groups:
            raise ValueError(
                f"{owner}: `filters` must be divisible by `groups`. "
                f"Received: filters={self.filters}, groups={self.groups}"
            )
        set_constraints(self, kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self._buffers = args.Buffers()
        self._geometries: dict[tuple[int, ...], ConvGeometry] = {}
        self._winograd_plans: dict[ConvGeometry, WinogradF43] = {}
        self._winograd: WinogradF43 | None = None

    # -- shapes -----------------------------------------------------------
    def input_channels(self, input_shape: Shape) -> int:
        """Check the input's rank and return its (known) channel count."""
        args.check_input_rank(self, input_shape, self.rank)
        channels = input_shape[args.channel_axis(self.data_format, len(input_shape))]
        if channels is None:
            raise ValueError(
                f"Layer {self.name!r} needs a known number of input channels. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        return int(channels)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        args.check_input_rank(self, input_shape, self.rank)
        spatial = tuple(
            args.output_size(self, size, k, s, d, self.padding, "kernel_size")
            for size, k, s, d in zip(
                args.spatial_dims(input_shape, self.data_format),
                self.kernel_size,
                self.strides,
                self.dilation_rate,
            )
        )
        channels = self.output_channels(input_shape)
        return args.with_spatial(input_shape, self.data_format, spatial, channels)

    def output_channels(self, input_shape: Shape) -> Any:
        """The number of output channels for inputs of ``input_shape``."""
        return self.filters

    def geometry(self, nhwc_shape: tuple[int, ...]) -> ConvGeometry:
        """The 2-D geometry for a channels-last input of ``nhwc_shape`` (cached)."""
        found = self._geometries.get(nhwc_shape)
        if found is None:
            found = self._make_geometry(nhwc_shape)
            self._geometries = {nhwc_shape: found, **dict(list(self._geometries.items())[:3])}
        return found

    def _make_geometry(self, nhwc_shape: tuple[int, ...]) -> ConvGeometry:
        batch, height, width, channels = nhwc_shape
        kernel, strides, dilation = self.kernel_size, self.strides, self.dilation_rate
        if self.rank == 1:
            kernel, strides, dilation = (1, *kernel), (1, *strides), (1, *dilation)
        sizes = []
        for size, k, s, d in zip((height, width), kernel, strides, dilation):
            args.output_size(self, size, k, s, d, self.padding, "kernel_size")
            sizes.append(args.window_padding(size, k, s, d, self.padding))
        (out_h, pad_top), (out_w, pad_left) = sizes
        if self.rank == 1:
            out_h, pad_top = 1, 0
        return ConvGeometry(
            batch, height, width, channels, *kernel, *strides, *dilation,
            pad_top, pad_left, out_h, out_w,
        )  # fmt: skip

    def config_base(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
        }

    def config_tail(self) -> dict[str, Any]:
        return {
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Conv(BaseConv):
    """A convolution of ``rank`` spatial axes; see :class:`Conv2D` for the arguments.

    On NumPy, float32 3x3 convolutions with stride 1, no dilation, no groups and at least
    8 input channels run as Winograd F(4x4, 3x3): ~1.7x faster than im2col on the MNIST
    convnet's second layer (forward and backward), relative error ~1e-5.
    ``layer.use_winograd = False`` (or on the class) keeps im2col.
    """

    # Set by the training step: outputs and input gradients may live in reused buffers.
    scratch_outputs = False
    # Winograd F(4x4, 3x3) where it applies (36 GEMMs with 4x fewer multiplications than
    # im2col); False keeps the im2col GEMM everywhere.
    use_winograd = True

    call_state = ("_g", "_x4", "_rows", "_tap_rows", "_winograd", "_z", "_y")
    # A Winograd plan keeps its call's transformed input for backward: one plan per call.
    call_workspace = {"_buffers": args.Buffers, "_winograd_plans": dict}

    def build(self, input_shape: Shape) -> None:
        channels = self.input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"Layer {self.name!r}: the number of input channels must be divisible by "
                f"`groups`. Received: groups={self.groups}, input_shape={tuple(input_shape)}"
            )
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, channels // self.groups, self.filters),
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

    def forward(self, x: Any, training: bool = False) -> Any:
        x4 = args.to_nhwc(x, self.rank, self.data_format)
        g = self.geometry(tuple(x4.shape))
        self._g, self._rows, self._tap_rows, self._x4 = g, None, None, x4
        z = self._output_rows("z", g, x.dtype)
        numpy_gemm = self.groups == 1 and K.backend() == "numpy"
        fuse_relu = numpy_gemm and args.is_plain_relu(self.activation)
        self._winograd = self._winograd_plan(g, x.dtype)
        if self._winograd is not None:
            z4 = z.reshape(g.batch, g.out_h, g.out_w, self.filters)
            bias = None if self.bias is None else self.bias.value
            self._winograd.forward(x4, self.kernel.value, z4, bias)
            if fuse_relu:
                relu_in_place(z)
        elif self._uses_tap_rows(g):
            cols, weights = self._tap_operands(x4, g)
            gemm_bias_relu(cols.T, weights, z, relu=fuse_relu)  # bias: the ones row
        else:
            rows = im2col(x4, g, self._buffers.get("cols", g.cols_shape, x.dtype))
            self._rows = rows.reshape(len(z), -1)
            bias = None if self.bias is None else self.bias.value
            if numpy_gemm:
                kernel = self.kernel.value.reshape(-1, self.filters)
                gemm_bias_relu(self._rows, kernel, z, bias, relu=fuse_relu)
            else:
                self._multiply(self._rows, z)
                if bias is not None:
                    z += bias
        z = z.reshape(g.batch, g.out_h, g.out_w, self.filters)
        y = z if fuse_relu else args.activate(self.activation, z)
        self._z, self._y = z, y
        return args.from_nhwc(y, self.rank, self.data_format)

    def _winograd_plan(self, g: ConvGeometry, dtype: Any) -> WinogradF43 | None:
        """The Winograd buffers for ``g`` (the two most recent geometries kept), or None
        where the im2col GEMM computes this convolution."""
        fits = (
            self.use_winograd
            and K.backend() == "numpy"
            and self.groups == 1
            and numpy.dtype(dtype) == numpy.float32
            and g.channels >= 8
            and WinogradF43.applies(g)
        )
        if not fits:
            return None
        plan = self._winograd_plans.get(g)
        if plan is None:
            plan = WinogradF43(g, self.filters, dtype)
            kept = list(self._winograd_plans.items())[-1:]  # training and last-batch shapes
            self._winograd_plans = {**dict(kept), g: plan}
        return plan

    def _uses_tap_rows(self, g: ConvGeometry) -> bool:
        """NumPy with few input channels (a first layer on images): tap-major im2col."""
        return self.groups == 1 and g.channels < 8 and K.backend() == "numpy"

    def _tap_operands(self, x4: Any, g: ConvGeometry) -> tuple[Any, Any]:
        """Tap-major columns and ``[kernel; bias]``: a ones row in the columns adds the bias
        in the GEMM, and in the backward GEMM sums the bias gradient."""
        taps = g.kernel_h * g.kernel_w * g.channels
        extra = 0 if self.bias is None else 1
        pixels = g.batch * g.out_h * g.out_w
        cols = self._buffers.get("tap_cols", (taps + extra, pixels), x4.dtype)
        im2col_taps(x4, g, cols)
        weights = self._buffers.get("tap_weights", (taps + extra, self.filters), x4.dtype)
        weights[:taps] = self.kernel.value.reshape(taps, self.filters)
        if extra:
            cols[taps] = 1.0
            weights[taps] = self.bias.value
        self._tap_rows = cols
        return cols, weights

    def _output_rows(self, role: str, g: ConvGeometry, dtype: Any) -> Any:
        shape = (g.batch * g.out_h * g.out_w, self.filters)
        return args.output_array(self, role, shape, dtype)

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        g = self._g
        grad4 = args.to_nhwc(grad, self.rank, self.data_format)
        if self._winograd is not None:
            grad_x = self._winograd_backward(grad4)
            return None if grad_x is None else args.from_nhwc(grad_x, self.rank, self.data_format)
        if not self.needs_input_grad:
            # The model's first layer: no input gradient (no col2im or its GEMM) at all.
            if self.trainable:
                self._weight_gradients_only(grad4)
            return None
        cropped = self._without_zero_border(grad4)
        if cropped is not None:
            return args.from_nhwc(cropped, self.rank, self.data_format)
        grad_z = args.activation_backward(
            self.activation,
            self._z,
            self._y,
            grad4,
            out=self._buffers.get("grad_z", self._y.shape, self._y.dtype),
        )
        grad_z = xp.ascontiguousarray(grad_z).reshape(-1, self.filters)
        if self.trainable:
            self._weight_gradients(grad_z)
        if (
            self.groups == 1
            and (g.channels >= 8 or self._tap_rows is not None)
            and (K.backend() == "numpy")
        ):
            kernel = self.kernel.value.reshape(g.kernel_h, g.kernel_w, g.channels, self.filters)
            part = self._buffers.get("grad_part", (len(grad_z), g.channels), grad_z.dtype)
            out = args.output_array(self, "grad_x", g.input_shape, grad_z.dtype)
            grad_x = input_gradient_by_offsets(grad_z, kernel, g, part, out)
        else:
            rows_shape = (len(grad_z), g.kernel_h * g.kernel_w * g.channels)
            grad_rows = self._buffers.get("grad_cols", rows_shape, grad_z.dtype)
            self._multiply_transposed(grad_z, grad_rows)
            grad_x = col2im(grad_rows, g)
        return args.from_nhwc(grad_x, self.rank, self.data_format)

    def _winograd_backward(self, grad4: Any) -> Any:
        """Kernel, bias and (where needed) input gradients through the Winograd plan."""
        g = self._g
        grad_z = args.activation_backward(
            self.activation, self._z, self._y, grad4,
            out=self._buffers.get("grad_z", self._y.shape, self._y.dtype),
        )  # fmt: skip
        grad_z = numpy.ascontiguousarray(grad_z)
        grad_x = None
        if self.needs_input_grad:
            grad_x = args.output_array(self, "grad_x", g.input_shape, grad_z.dtype)
        kernel_grad = bias_grad = None
        if self.trainable:
            kernel_grad = self._buffers.get("kernel_grad", self.kernel.value.shape, grad_z.dtype)
            if self.bias is not None:
                bias_grad = self._buffers.get("bias_grad", self.bias.value.shape, grad_z.dtype)
        self._winograd.backward(grad_z, kernel_grad, grad_x, bias_grad)
        if kernel_grad is not None:
            self.kernel.grad[...] = kernel_grad
        if bias_grad is not None:
            self.bias.grad[...] = bias_grad
        return grad_x

    def _without_zero_border(self, grad4: Any) -> Any:
        """NumPy, 'valid' padding: when the last output rows/columns get no gradient (a
        'valid' pooling after this layer drops them), run the backward on the rest only.

        Returns the input gradient, or None where nothing is cropped (or it does not apply).
        """
        g = self._g
        activation = self.activation
        linear = getattr(activation, "name", None) == "linear"
        zero_keeping = linear or args.is_plain_relu(activation)
        numpy_rows = self._rows is not None and self.groups == 1 and K.backend() == "numpy"
        if not numpy_rows or self.padding != "valid" or not zero_keeping:
            return None
        used_h, used_w = g.out_h, g.out_w
        while used_h > 1 and not grad4[:, used_h - 1].any():
            used_h -= 1
        while used_w > 1 and not grad4[:, :used_h, used_w - 1].any():
            used_w -= 1
        if used_h * used_w > 0.9 * g.out_h * g.out_w:
            return None  # too little to gain
        height = (used_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1
        width = (used_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1
        sub = self._make_geometry((g.batch, height, width, g.channels))
        shape = (g.batch, used_h, used_w, self.filters)
        grad_sub = self._buffers.get("grad_z_cropped", shape, grad4.dtype)
        if linear:
            numpy.copyto(grad_sub, grad4[:, :used_h, :used_w])
        else:
            y = self._y[:, :used_h, :used_w]
            args.activation_backward(activation, y, y, grad4[:, :used_h, :used_w], grad_sub)
        grad_sub = grad_sub.reshape(-1, self.filters)
        if self.trainable:
            x_sub = self._x4[:, :height, :width]
            cols = self._buffers.get("cols_cropped", sub.cols_shape, x_sub.dtype)
            self._kernel_and_bias_gradients(im2col(x_sub, sub, cols), grad_sub)
        grad_x = args.output_array(self, "grad_x", g.input_shape, grad_sub.dtype)
        grad_x[:, height:] = 0
        grad_x[:, :height, width:] = 0
        kernel = self.kernel.value.reshape(g.kernel_h, g.kernel_w, g.channels, self.filters)
        part = self._buffers.get("grad_part_cropped", (len(grad_sub), g.channels), grad_sub.dtype)
        input_gradient_by_offsets(grad_sub, kernel, sub, part, grad_x[:, :height, :width])
        return grad_x

    def _kernel_and_bias_gradients(self, rows: Any, grad_z: Any) -> None:
        """Ungrouped NumPy: ``kernel.grad = rows.T @ grad_z`` (computed as ``(grad_z.T @
        rows).T``, which packs the tall operand faster) and the bias gradient."""
        rows = rows.reshape(len(grad_z), -1)
        transposed = self._buffers.get("kernel_grad_t", (self.filters, rows.shape[1]), rows.dtype)
        numpy.matmul(grad_z.T, rows, out=transposed)
        self.kernel.grad[...] = transposed.T.reshape(self.kernel.grad.shape)
        if self.bias is not None:
            ones = self._buffers.get("ones", (len(grad_z),), grad_z.dtype)
            ones.fill(1.0)
            numpy.matmul(ones, grad_z, out=self.bias.grad)

    def _weight_gradients_only(self, grad4: Any) -> None:
        """Weight gradients when no input gradient is needed: a ReLU's mask is applied
        block by block inside the tap-major GEMM (no full-size masked gradient)."""
        if self._tap_rows is None or not args.is_plain_relu(self.activation):
            xp = K.get_array_module(grad4)
            grad_z = args.activation_backward(
                self.activation, self._z, self._y, grad4,
                out=self._buffers.get("grad_z", self._y.shape, self._y.dtype),
            )  # fmt: skip
            self._weight_gradients(xp.ascontiguousarray(grad_z).reshape(-1, self.filters))
            return
        grad_y = numpy.ascontiguousarray(grad4).reshape(-1, self.filters)
        block = (min(len(grad_y), relu_block_rows(self.filters, grad_y.itemsize)), self.filters)
        scratch = (
            self._buffers.get("masked_block", block, grad_y.dtype),
            self._buffers.get("mask_block", block, numpy.bool_),
        )
        both = self._buffers.get("tap_grads", (len(self._tap_rows), self.filters), grad_y.dtype)
        rows = self._y.reshape(-1, self.filters)
        relu_weight_gradient(self._tap_rows, grad_y, rows, both, scratch)
        self._split_tap_gradients(both)

    def _split_tap_gradients(self, both: Any) -> None:
        taps = self.kernel.value.size // self.filters
        self.kernel.grad[...] = both[:taps].reshape(self.kernel.grad.shape)
        if self.bias is not None:
            self.bias.grad[...] = both[taps]

    def _weight_gradients(self, grad_z: Any) -> None:
        xp = K.get_array_module(grad_z)
        if self._tap_rows is not None:
            # [kernel; bias] gradient in one GEMM: the ones row of the columns sums grad_z.
            both = self._buffers.get("tap_grads", (len(self._tap_rows), self.filters), grad_z.dtype)
            xp.matmul(self._tap_rows, grad_z, out=both)
            self._split_tap_gradients(both)
            return
        if self.groups == 1 and K.backend() == "numpy":
            self._kernel_and_bias_gradients(self._rows, grad_z)
            return
        self._kernel_gradient(grad_z)
        if self.bias is not None:
            grad_z.sum(axis=0, out=self.bias.grad)

    # -- the GEMMs (one per group) ----------------------------------------
    def _group_views(self) -> tuple[int, int, int]:
        taps = self.kernel.value.size // (self.kernel.value.shape[-2] * self.filters)
        return taps, self.kernel.value.shape[-2], self.filters // self.groups

    def _multiply(self, rows: Any, z: Any) -> Any:
        kernel = self.kernel.value
        xp = K.get_array_module(rows)
        if self.groups == 1:
            return xp.matmul(rows, kernel.reshape(-1, self.filters), out=z)
        taps, cg, fg = self._group_views()
        rows3, kernel3 = rows.reshape(len(rows), taps, -1), kernel.reshape(taps, cg, -1)
        for i in range(self.groups):
            c, f = slice(i * cg, (i + 1) * cg), slice(i * fg, (i + 1) * fg)
            z[:, f] = rows3[:, :, c].reshape(len(rows), -1) @ kernel3[:, :, f].reshape(-1, fg)
        return z

    def _kernel_gradient(self, grad_z: Any) -> None:
        xp = K.get_array_module(grad_z)
        grad = self.kernel.grad
        if self.groups == 1:
            xp.matmul(self._rows.T, grad_z, out=grad.reshape(-1, self.filters))
            return
        taps, cg, fg = self._group_views()
        rows3, grad3 = self._rows.reshape(len(grad_z), taps, -1), grad.reshape(taps, cg, -1)
        for i in range(self.groups):
            c, f = slice(i * cg, (i + 1) * cg), slice(i * fg, (i + 1) * fg)
            rows_i = rows3[:, :, c].reshape(len(grad_z), -1)
            grad3[:, :, f] = (rows_i.T @ grad_z[:, f]).reshape(taps, cg, fg)

    def _multiply_transposed(self, grad_z: Any, out: Any) -> None:
        xp = K.get_array_module(grad_z)
        kernel = self.kernel.value
        if self.groups == 1:
            xp.matmul(grad_z, kernel.reshape(-1, self.filters).T, out=out)
            return
        taps, cg, fg = self._group_views()
        kernel3, out3 = kernel.reshape(taps, cg, -1), out.reshape(len(grad_z), taps, -1)
        for i in range(self.groups):
            c, f = slice(i * cg, (i + 1) * cg), slice(i * fg, (i + 1) * fg)
            part = grad_z[:, f] @ kernel3[:, :, f].reshape(-1, fg).T
            out3[:, :, c] = part.reshape(len(grad_z), taps, cg)

    def get_config(self) -> dict[str, Any]:
        return {
            **self.config_base(),
            "filters": self.filters,
            "groups": self.groups,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            **self.config_tail(),
        }


@register
class Conv1D(Conv):
    """1-D convolution over ``(batch, steps, channels)`` inputs (Keras 3's ``Conv1D``).

    Kernel shape ``(kernel_size, in_channels // groups, filters)``, bias ``(filters,)``.

    Args:
        filters: Positive int, the number of output channels. Required.
        kernel_size: Int (or 1-tuple), the window length. Required.
        strides: Int; default ``1``.
        padding: ``'valid'`` (default), ``'same'`` or ``'causal'`` (left padding only, so
            output ``t`` sees inputs up to ``t``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: Int; default ``1``.
        groups: Default ``1``.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as
            :class:`Conv2D`.
        **kwargs: :class:`Layer` arguments. Legacy Keras 1 names ``nb_filter``,
            ``filter_length``, ``border_mode``, ``subsample_length``, ``init``,
            ``W_regularizer``, ``b_regularizer``, ``bias`` are accepted with a warning.
    """

    @legacy_arguments("Conv1D", _LEGACY_CONV1D)
    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
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
            1, filters, kernel_size, strides, padding, data_format, dilation_rate, groups,
            activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs,
        )  # fmt: skip


@register
class Conv2D(Conv):
    """2-D convolution over images (Keras 3's ``Conv2D``).

    Kernel shape ``(kh, kw, in_channels // groups, filters)``, bias ``(filters,)``: Keras
    weight files load as they are.

    Args:
        filters: Positive int, the number of output channels. Required.
        kernel_size: Int or tuple of 2 ints, the window size. Required.
        strides: Int or tuple of 2 ints; default ``(1, 1)``. Strides > 1 exclude
            ``dilation_rate`` > 1.
        padding: ``'valid'`` (default) or ``'same'`` (output ``ceil(size / stride)``, zeros
            split as TensorFlow does: the extra one after).
        data_format: ``'channels_last'`` (default, also for ``None``: ``(N, H, W, C)``) or
            ``'channels_first'`` (``(N, C, H, W)``).
        dilation_rate: Int or tuple of 2 ints; default ``(1, 1)``.
        groups: Positive int dividing the input channels and ``filters``; default ``1``.
        activation: Activation name or function; default ``None`` (linear).
        use_bias: Default ``True``.
        kernel_initializer: Default ``'glorot_uniform'``.
        bias_initializer: Default ``'zeros'``.
        kernel_regularizer: Default ``None``.
        bias_regularizer: Default ``None``.
        activity_regularizer: Default ``None``.
        kernel_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        bias_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        **kwargs: :class:`Layer` arguments. Legacy Keras 1 names ``nb_filter``,
            ``nb_row``/``nb_col``, ``border_mode``, ``subsample``, ``init``,
            ``W_regularizer``, ``b_regularizer``, ``bias``, ``dim_ordering`` are accepted
            with a warning.
    """

    @legacy_rows_and_columns("Conv2D")
    @legacy_arguments("Conv2D", _LEGACY_CONV)
    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        groups: int = 1,
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
            2, filters, kernel_size, strides, padding, data_format, dilation_rate, groups,
            activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs,
        )  # fmt: skip


def Convolution1D(*positional: Any, **kwargs: Any) -> Conv1D:  # noqa: N802 (Keras's name)
    """Keras 1's name for :class:`Conv1D` (returns a ``Conv1D``)."""
    return Conv1D(*positional, **kwargs)


def Convolution2D(*positional: Any, **kwargs: Any) -> Conv2D:  # noqa: N802 (Keras's name)
    """Keras 1's name for :class:`Conv2D` (returns a ``Conv2D``).

    Also takes Keras 1's positional form ``Convolution2D(nb_filter, nb_row, nb_col, ...)``:
    three leading ints mean filters and a ``(nb_row, nb_col)`` kernel (with a warning),
    as Keras 2 read them, not ``strides`` as a third positional argument would in Keras 3.
    """
    if len(positional) >= 3 and all(args.is_int(v) for v in positional[:3]):
        filters, rows, columns, *rest = positional
        if "kernel_size" in kwargs:
            raise TypeError(
                "Convolution2D got nb_row/nb_col positionally and `kernel_size`; pass only "
                f"`kernel_size`. Received: kernel_size={kwargs['kernel_size']!r}"
            )
        warn_user(
            f"Convolution2D({filters}, {rows}, {columns}, ...) is Keras 1's form; use "
            f"Conv2D({filters}, ({rows}, {columns}), ...). Received: nb_row={rows}, "
            f"nb_col={columns}"
        )
        if rest:
            raise TypeError(
                "After Keras 1's (nb_filter, nb_row, nb_col) pass the other arguments by "
                f"keyword. Received: {len(positional)} positional arguments"
            )
        return Conv2D(filters, (rows, columns), **kwargs)
    return Conv2D(*positional, **kwargs)
