"""SimpleRNNCell: one step of ``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)``."""

from __future__ import annotations

from typing import Any

from gpukeras import ops
from gpukeras.layers._serialization import register
from gpukeras.layers.rnn._cell_base import RNNCellBase, activate, first_state


@register
class SimpleRNNCell(RNNCellBase):
    """One timestep of :class:`~gpukeras.layers.SimpleRNN`, for :class:`~gpukeras.layers.RNN`.

    Weights as SimpleRNN's: ``kernel`` (features, units), ``recurrent_kernel``
    (units, units), ``bias`` (units,).

    Args:
        units: Positive int, the size of the output and state. Required.
        activation: Default ``'tanh'``.
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
        seed: Seed of the dropout masks; default ``None``.
        **kwargs: :class:`Layer` arguments.
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
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
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            units,
            activation=activation,
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

    def call(self, inputs: Any, states: Any, training: Any = None) -> tuple[Any, Any]:
        previous = self.dropped(first_state(states), "recurrent", training)
        inputs = self.dropped(inputs, "input", training)
        z = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(previous, self.recurrent_kernel))
        if self.bias is not None:
            z = ops.add(z, self.bias)
        output = activate(self.activation, z)
        return output, ([output] if isinstance(states, (list, tuple)) else output)
