"""Dense: ``activation(x @ kernel + bias)``, kernel shaped (in, out) like Keras."""

from __future__ import annotations

from typing import Any

from gpukeras import activations, constraints, initializers, regularizers
from gpukeras import backend as K
from gpukeras._legacy import legacy_arguments
from gpukeras.backend.kernels import dense as dense_kernels
from gpukeras.layers._add_weight import set_constraints
from gpukeras.layers._layer import Layer, Shape

_LEGACY_DENSE = {
    "output_dim": ("units", None),
    "init": ("kernel_initializer", None),
    "W_regularizer": ("kernel_regularizer", None),
    "b_regularizer": ("bias_regularizer", None),
    "W_constraint": ("kernel_constraint", None),
    "b_constraint": ("bias_constraint", None),
    "bias": ("use_bias", bool),
}


class Dense(Layer):
    """Densely connected layer.

    Args:
        units: Positive int, the output size. Required.
        activation: Activation name or function; default ``None`` (linear).
        use_bias: Whether to add a bias; default ``True``.
        kernel_initializer: Default ``'glorot_uniform'``.
        bias_initializer: Default ``'zeros'``.
        kernel_regularizer: Default ``None``.
        bias_regularizer: Default ``None``.
        activity_regularizer: Default ``None``.
        kernel_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        bias_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        **kwargs: :class:`Layer` arguments (``name``, ``input_shape``,
            ``input_dim``, ...). Legacy Keras 1 names (``output_dim``,
            ``init``, ``W_regularizer``, ``b_regularizer``, ``bias``) are
            accepted with a DeprecationWarning.
    """

    supports_masking = True  # applied per timestep, so a sequence mask still holds

    @legacy_arguments("Dense", _LEGACY_DENSE)
    def __init__(
        self,
        units: int | None = None,
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
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense units must be a positive int. Received: units={units!r}")
        set_constraints(self, kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"Dense {self.name!r} needs inputs of rank >= 2 with a known last axis. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        in_features = int(input_shape[-1])
        self.kernel = self.add_weight(
            "kernel",
            (in_features, self.units),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                (self.units,),
                self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*tuple(input_shape)[:-1], self.units)

    # -- computing --------------------------------------------------------
    #: Set by the training step while it runs: outputs and gradients may then live in
    #: buffers this layer reuses on its next call with the same batch shape.
    scratch_outputs = False
    call_state = ("_x", "_kernel_now", "_z", "_y")
    # No call_workspace: ``_buffers`` holds outputs only while ``scratch_outputs`` is set
    # (a pullback turns it off), else only scratch that backward uses and drops, which
    # pullbacks, running one at a time, can share (no per-call allocation on the tape path).

    def forward(self, x: Any, training: bool = False) -> Any:
        kernel = self._compute_value(self.kernel)
        bias = None if self.bias is None else self._compute_value(self.bias)
        if x.dtype != self.compute_dtype:
            x = x.astype(self.compute_dtype)
        self._x, self._kernel_now = x, kernel
        fused = self._fused_activation()
        if fused is None:  # any activation: keep z for its derivative
            z = x @ kernel
            if bias is not None:
                z += bias
            self._z, self._y = z, self.activation.forward(z)
            return self._y
        # The fast path: GEMM into a reused buffer, then bias + activation in place on it.
        xp = K.get_array_module(x)
        out = self._buffer("y", (*x.shape[:-1], self.units), x.dtype)
        y = xp.matmul(x, kernel, out=out)
        dense_kernels.bias_activation_forward(y, bias, fused)
        self._z, self._y = None, y
        return y

    def backward(self, grad: Any) -> Any:
        fused = self._fused_activation()
        if fused is None:
            return self.backward_preactivation(self.activation.backward(self._z, self._y, grad))
        y = self._y
        if grad.dtype != y.dtype:
            grad = grad.astype(y.dtype)
        scratch_dtype = "bool" if fused == "relu" else y.dtype
        grad_z = dense_kernels.activation_backward(
            fused,
            y,
            grad,
            out=self._buffer("grad_z", y.shape, y.dtype, always=True),
            scratch=self._buffer("scratch", y.shape, scratch_dtype, always=True),
        )
        return self.backward_preactivation(grad_z)

    def backward_preactivation(self, grad_z: Any) -> Any:
        """Backward from the gradient w.r.t. ``x @ kernel + bias`` (fused-loss entry)."""
        x = self._x
        if grad_z.dtype != x.dtype:
            grad_z = grad_z.astype(x.dtype)
        if self.trainable:
            xp = K.get_array_module(grad_z)
            x2 = x.reshape(-1, x.shape[-1])
            g2 = grad_z.reshape(-1, self.units)
            _into(self.kernel.grad, lambda out: xp.matmul(x2.T, g2, out=out), g2.dtype)
            if self.bias is not None:
                _into(self.bias.grad, lambda out: g2.sum(axis=0, out=out), g2.dtype)
        if not self.needs_input_grad:
            return None  # the first layer: the largest GEMM of the step, skipped
        xp = K.get_array_module(grad_z)
        out = self._buffer("grad_x", x.shape, x.dtype)
        return xp.matmul(grad_z, self._kernel_now.T, out=out)

    # -- fast-path helpers ------------------------------------------------------------
    def _fused_activation(self) -> str | None:
        """The activation's name when the fused kernels handle it, else None."""
        activation = self.activation
        if (
            type(activation) is activations.ActivationFunction
            and activation.name in dense_kernels.FUSED_ACTIVATIONS
            and activation.has_default_params
        ):
            return activation.name
        return None

    def _compute_value(self, variable: Any) -> Any:
        """The variable in the compute dtype (a cast copy under a mixed policy)."""
        value = variable.value
        return value if value.dtype == self.compute_dtype else value.astype(self.compute_dtype)

    def _buffer(self, role: str, shape: tuple[int, ...], dtype: Any, always: bool = False) -> Any:
        """A buffer for ``role``, reused while :attr:`scratch_outputs` is set (else fresh).

        ``always`` marks buffers that never leave this layer (safe to reuse at any time).
        """
        xp = K.array_module()
        if not (always or self.scratch_outputs):
            return xp.empty(shape, dtype=dtype)
        buffers = self.__dict__.setdefault("_buffers", {})
        key = (role, shape, dtype)  # dtype as given: hashing it is cheaper than str()
        found = buffers.get(key)
        if found is None or K.get_array_module(found) is not xp:
            found = buffers[key] = xp.empty(shape, dtype=dtype)
        return found

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


def _into(target: Any, compute: Any, dtype: Any) -> None:
    """``compute(out)`` written into ``target``; via a temporary when the math's ``dtype``
    differs from the target's (float16 gradients of float32 weights under a mixed policy)."""
    if target.dtype == dtype:
        compute(target)
    else:
        target[...] = compute(None)
