"""LSTMCell: one step of the LSTM, gates in Keras's order i, f, c, o."""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import initializers, ops
from gpukeras.layers._serialization import register
from gpukeras.layers.rnn._cell_base import RNNCellBase, activate


@register
class LSTMCell(RNNCellBase):
    """One timestep of :class:`~gpukeras.layers.LSTM`, for :class:`~gpukeras.layers.RNN`.

    ``i, f, o = recurrent_activation(...)``, ``c = f * c_prev + i * activation(...)``,
    ``h = o * activation(c)``; states ``[h, c]``. Weights as LSTM's: ``kernel``
    (features, 4 * units), ``recurrent_kernel`` (units, 4 * units), ``bias`` (4 * units,).

    Args:
        units: Positive int, the size of the output and of each state. Required.
        activation: Default ``'tanh'``.
        recurrent_activation: Default ``'sigmoid'``.
        use_bias: Default ``True``.
        kernel_initializer: Default ``'glorot_uniform'``.
        recurrent_initializer: Default ``'orthogonal'``.
        bias_initializer: Default ``'zeros'``.
        unit_forget_bias: Start the forget gate's bias at 1; default ``True``.
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

    gate_blocks = 4

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
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
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]

    def _make_bias(self) -> Any:
        bias = super()._make_bias()
        if self.unit_forget_bias:  # as LSTM builds it: zeros-ish, ones, zeros-ish
            u = self.units
            parts = [
                self.bias_initializer((u,), dtype=self.dtype),
                initializers.get("ones")((u,), dtype=self.dtype),
                self.bias_initializer((2 * u,), dtype=self.dtype),
            ]
            bias.assign(numpy.concatenate([numpy.asarray(p) for p in parts]))
        return bias

    def call(self, inputs: Any, states: Any, training: Any = None) -> tuple[Any, list[Any]]:
        h_previous = self.dropped(states[0], "recurrent", training)
        c_previous = states[1]
        inputs = self.dropped(inputs, "input", training)
        z = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(h_previous, self.recurrent_kernel))
        if self.bias is not None:
            z = ops.add(z, self.bias)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=1)
        gate = self.recurrent_activation
        c = ops.add(
            ops.multiply(activate(gate, z_f), c_previous),
            ops.multiply(activate(gate, z_i), activate(self.activation, z_c)),
        )
        h = ops.multiply(activate(gate, z_o), activate(self.activation, c))
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}
