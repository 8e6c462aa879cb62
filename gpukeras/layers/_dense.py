"""Dense: ``activation(x @ kernel + bias)``, kernel shaped (in, out) like Keras."""

from __future__ import annotations

from typing import Any

from gpukeras import activations, initializers, regularizers
from gpukeras import backend as K
from gpukeras._legacy import legacy_arguments
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
        kernel_constraint: Not supported; must be ``None`` (the default).
        bias_constraint: Not supported; must be ``None`` (the default).
        **kwargs: :class:`Layer` arguments (``name``, ``input_shape``,
            ``input_dim``, ...). Legacy Keras 1 names (``output_dim``,
            ``init``, ``W_regularizer``, ``b_regularizer``, ``bias``) are
            accepted with a DeprecationWarning.
    """

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
        _reject_constraints(kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
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
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (self.units,), self.bias_initializer, regularizer=self.bias_regularizer
            )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*tuple(input_shape)[:-1], self.units)

    def forward(self, x: Any, training: bool = False) -> Any:
        z = x @ self.kernel.value
        if self.bias is not None:
            z += self.bias.value
        self._x, self._z = x, z
        self._y = self.activation.forward(z)
        return self._y

    def backward(self, grad: Any) -> Any:
        return self.backward_preactivation(self.activation.backward(self._z, self._y, grad))

    def backward_preactivation(self, grad_z: Any) -> Any:
        """Backward from the gradient w.r.t. ``x @ kernel + bias`` (fused-loss entry)."""
        if self.trainable:
            xp = K.get_array_module(grad_z)
            x2 = self._x.reshape(-1, self._x.shape[-1])
            g2 = grad_z.reshape(-1, self.units)
            xp.matmul(x2.T, g2, out=self.kernel.grad)
            if self.bias is not None:
                g2.sum(axis=0, out=self.bias.grad)
        if not self.needs_input_grad:
            return None  # the first layer: the largest GEMM of the step, skipped
        return grad_z @ self.kernel.value.T

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
            "kernel_constraint": None,
            "bias_constraint": None,
        }


def _reject_constraints(**constraints: Any) -> None:
    for name, value in constraints.items():
        if value is not None:
            raise NotImplementedError(
                f"Weight constraints are not supported yet. Received: {name}={value!r}"
            )
