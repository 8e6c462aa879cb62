"""SimpleRNN: ``h = activation(x_t @ kernel + h_prev @ recurrent_kernel + bias)``."""

from __future__ import annotations

from typing import Any

from gpukeras._legacy import legacy_arguments
from gpukeras.layers._lstm import _LEGACY_RECURRENT
from gpukeras.layers._recurrent_dropout import recurrent_product
from gpukeras.layers._rnn_base import RNNBase
from gpukeras.layers._serialization import register


@register
class SimpleRNN(RNNBase):
    """Fully connected recurrent layer whose output is fed back as the next input.

    Weights: ``kernel`` (features, units), ``recurrent_kernel`` (units, units),
    ``bias`` (units,).

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
        activity_regularizer: Default ``None``.
        kernel_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        recurrent_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        bias_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        dropout: Fraction of input features dropped while training; default ``0.0``.
        recurrent_dropout: Fraction of the carried state's units dropped while training,
            one mask per sequence (Keras 1's ``dropout_U``); default ``0.0``.
        return_sequences: Default ``False``.
        return_state: Also return the final state; default ``False``.
        go_backwards: Default ``False``.
        stateful: Carry the final states into the next batch (fixed batch size; see
            ``reset_states``); default ``False``.
        unroll: Accepted, no effect; default ``False``.
        seed: Seed of the dropout stream; default ``None``.
        **kwargs: :class:`Layer` arguments, ``zero_output_for_mask`` (default ``False``)
            and the Keras 1 names LSTM accepts.
    """

    gate_blocks = 1
    state_count = 1

    @legacy_arguments("SimpleRNN", _LEGACY_RECURRENT)
    def __init__(
        self,
        units: int | None = None,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
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
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )

    def _allocate(self, xp: Any, steps: int, batch: int) -> dict[str, Any]:
        u, dtype = self.units, self.dtype
        return {
            "z": xp.empty((steps, batch, u), dtype=dtype),
            "y": xp.empty((steps, batch, u), dtype=dtype),
            "dz": xp.empty((steps, batch, u), dtype=dtype),
        }

    def _forward_steps(self, xp: Any, buffers: dict[str, Any], mask: Any) -> None:
        h, z, y, xw = buffers["h"], buffers["z"], buffers["y"], buffers["xw"]
        kernel = self.recurrent_kernel.value
        for s in range(xw.shape[0]):
            recurrent_product(xp, self._recurrent_dropout, h[s], kernel, z[s])
            z[s] += xw[s]
            y[s] = self.activation.forward(z[s])
            h[s + 1] = xp.where(mask[s] != 0, y[s], h[s])

    def _backward_steps(
        self,
        xp: Any,
        buffers: dict[str, Any],
        mask: Any,
        dout_seq: Any,
        dout_last: Any,
        grad_states: list[Any],
    ) -> tuple[Any, list[Any]]:
        b = buffers
        self._start_state_grads(b, ["dh"], grad_states)
        kernel_t = self.recurrent_kernel.value.T
        dh, dz, steps = b["dh"], b["dz"], b["xw"].shape[0]
        dropout = self._recurrent_dropout
        for s in reversed(range(steps)):
            self._add_output_grad(dh, s, steps, dout_seq, dout_last)
            m = mask[s]
            dz[s] = self.activation.backward(b["z"][s], b["y"][s], dh * m)
            carry = dh * (1.0 - m)
            if dropout is None:
                xp.matmul(dz[s], kernel_t, out=dh)
            else:
                dropout.state_grad(xp, dz[s], dh)
            dh += carry
        if self.trainable and dropout is not None:
            dropout.kernel_grad(xp, b["h"][:-1], dz, self.recurrent_kernel.grad)
        elif self.trainable:
            u = self.units
            xp.matmul(
                b["h"][:-1].reshape(-1, u).T, dz.reshape(-1, u), out=self.recurrent_kernel.grad
            )
        return dz, [dh.copy()]
