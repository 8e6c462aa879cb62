"""GRUCell: one step of the GRU, gates in Keras's order z, r, h."""

from __future__ import annotations

from typing import Any

from gpukeras import ops
from gpukeras.layers._serialization import register
from gpukeras.layers.rnn._cell_base import RNNCellBase, activate, first_state


@register
class GRUCell(RNNCellBase):
    """One timestep of :class:`~gpukeras.layers.GRU`, for :class:`~gpukeras.layers.RNN`.

    ``z, r = recurrent_activation(...)``, ``hh = activation(x_h + r * (h_prev @ R_h +
    b_rh))`` with ``reset_after`` (else ``activation(x_h + (r * h_prev) @ R_h)``),
    ``h = z * h_prev + (1 - z) * hh``. Weights as GRU's: ``kernel`` (features,
    3 * units), ``recurrent_kernel`` (units, 3 * units), ``bias`` (2, 3 * units) with
    ``reset_after`` (input row, recurrent row), else (3 * units,).

    Args:
        units: Positive int, the size of the output and state. Required.
        activation: Default ``'tanh'``.
        recurrent_activation: Default ``'sigmoid'``.
        use_bias: Default ``True``.
        kernel_initializer: Default ``'glorot_uniform'``.
        recurrent_initializer: Default ``'orthogonal'``.
        bias_initializer: Default ``'zeros'``.
        kernel_regularizer: Default ``None``.
        recurrent_regularizer: Default ``None``.
        bias_regularizer: Default ``None``.
        kernel_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        recurrent_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        bias_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        dropout: Fraction of the inputs dropped while training (one mask per sequence);
            default ``0.0``.
        recurrent_dropout: Fraction of the previous state dropped in the recurrent
            product while training; default ``0.0``.
        reset_after: Apply the reset gate after the recurrent product; default ``True``.
        seed: Seed of the dropout masks; default ``None``.
        **kwargs: :class:`Layer` arguments.
    """

    gate_blocks = 3

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        reset_after: bool = True,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("implementation", None)  # Keras's kernel choice: the maths is the same
        super().__init__(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **kwargs,
        )
        self.reset_after = bool(reset_after)

    def _make_bias(self) -> Any:
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return self.add_weight(
            "bias",
            shape,
            self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def call(self, inputs: Any, states: Any, training: Any = None) -> tuple[Any, Any]:
        previous = first_state(states)
        input_bias = recurrent_bias = None
        if self.bias is not None:
            if self.reset_after:
                input_bias, recurrent_bias = self.bias[0], self.bias[1]
            else:
                input_bias = self.bias
        projected = ops.matmul(self.dropped(inputs, "input", training), self.kernel)
        dropped = self.dropped(previous, "recurrent", training)  # only in the products
        if input_bias is not None:
            projected = ops.add(projected, input_bias)
        x_z, x_r, x_h = ops.split(projected, 3, axis=1)
        u = self.units
        if self.reset_after:
            inner = ops.matmul(dropped, self.recurrent_kernel)
            if recurrent_bias is not None:
                inner = ops.add(inner, recurrent_bias)
            r_z, r_r, r_h = ops.split(inner, 3, axis=1)
        else:
            r_z, r_r = ops.split(ops.matmul(dropped, self.recurrent_kernel[:, : 2 * u]), 2, axis=1)
        z = activate(self.recurrent_activation, ops.add(x_z, r_z))
        r = activate(self.recurrent_activation, ops.add(x_r, r_r))
        if self.reset_after:
            candidate = ops.add(x_h, ops.multiply(r, r_h))
        else:
            candidate = ops.add(
                x_h, ops.matmul(ops.multiply(r, dropped), self.recurrent_kernel[:, 2 * u :])
            )
        hh = activate(self.activation, candidate)
        h = ops.add(ops.multiply(z, previous), ops.multiply(ops.subtract(1.0, z), hh))
        return h, ([h] if isinstance(states, (list, tuple)) else h)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reset_after": self.reset_after}
