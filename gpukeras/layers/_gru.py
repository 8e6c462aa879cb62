"""GRU: Keras 3's gated recurrent unit, gates ``[z, r, h]``.

Per step, ``x_t @ kernel + input_bias`` split into ``x_z, x_r, x_h`` and
``inner = h_prev @ recurrent_kernel (+ recurrent_bias)`` split likewise::

    z = recurrent_activation(x_z + inner_z)
    r = recurrent_activation(x_r + inner_r)
    reset_after=True  (default): hh = activation(x_h + r * inner_h)
    reset_after=False:           hh = activation(x_h + (r * h_prev) @ recurrent_kernel_h)
    h = z * h_prev + (1 - z) * hh

``reset_after=True`` keeps two bias rows, ``bias`` shaped (2, 3 * units): row 0 for
the input projection, row 1 for the recurrent one (Keras's, and cuDNN's, layout).
The default tanh/sigmoid with ``reset_after=True`` runs one fused kernel per step.
"""

from __future__ import annotations

from typing import Any

from gpukeras._legacy import legacy_arguments
from gpukeras.backend.kernels import recurrent as kernels
from gpukeras.layers._lstm import _LEGACY_RECURRENT, _blocks
from gpukeras.layers._recurrent_dropout import recurrent_product
from gpukeras.layers._rnn_base import RNNBase
from gpukeras.layers._serialization import register


@register
class GRU(RNNBase):
    """Gated Recurrent Unit (Cho et al. 2014), with Keras 3's weights.

    Weights: ``kernel`` (features, 3 * units), ``recurrent_kernel`` (units, 3 * units),
    ``bias`` (2, 3 * units) with ``reset_after`` else (3 * units,); blocks z, r, h.

    Args:
        units: Positive int, the size of the output and state. Required.
        activation: For the candidate state; default ``'tanh'``.
        recurrent_activation: For the z and r gates; default ``'sigmoid'``.
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
            one mask per gate and sequence (Keras 1's ``dropout_U``); default ``0.0``.
        seed: Seed of the dropout stream; default ``None``.
        return_sequences: Default ``False``.
        return_state: Also return the final state; default ``False``.
        go_backwards: Default ``False``.
        stateful: Carry the final states into the next batch (fixed batch size; see
            ``reset_states``); default ``False``.
        unroll: Accepted, no effect; default ``False``.
        reset_after: Apply the reset gate after the recurrent product; default ``True``.
        use_cudnn: Accepted for compatibility; default ``'auto'``.
        **kwargs: :class:`Layer` arguments, ``zero_output_for_mask`` (default ``False``)
            and the Keras 1 names LSTM accepts.
    """

    gate_blocks = 3
    state_count = 1

    @legacy_arguments("GRU", _LEGACY_RECURRENT)
    def __init__(
        self,
        units: int | None = None,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
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
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        reset_after: bool = True,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
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
            use_cudnn=use_cudnn,
            **kwargs,
        )
        self.reset_after = bool(reset_after)

    def _make_bias(self) -> Any:
        width = 3 * self.units
        shape = (2, width) if self.reset_after else (width,)
        return self.add_weight(
            "bias",
            shape,
            self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def _input_bias(self) -> Any:
        if self.bias is None:
            return None
        return self.bias.value[0] if self.reset_after else self.bias.value

    def _set_input_bias_grad(self, value: Any) -> None:
        if self.reset_after:
            self.bias.grad[0] = value
        else:
            self.bias.grad[...] = value

    def _fused(self) -> bool:
        return self.reset_after and self._uses_fused_gates()

    def _allocate(self, xp: Any, steps: int, batch: int) -> dict[str, Any]:
        u, dtype = self.units, self.dtype
        buffers = {
            "gates": xp.empty((steps, batch, 3 * u), dtype=dtype),
            "inner": xp.empty((steps, batch, 3 * u), dtype=dtype),
            "dx": xp.empty((steps, batch, 3 * u), dtype=dtype),
            "dinner": xp.empty((steps, batch, 3 * u), dtype=dtype),
        }
        if not self._fused():
            buffers["z"] = xp.empty((steps, batch, 3 * u), dtype=dtype)
        if not self.reset_after:
            buffers["rh"] = xp.empty((steps, batch, u), dtype=dtype)
        return buffers

    # -- forward ----------------------------------------------------------
    def _forward_steps(self, xp: Any, buffers: dict[str, Any], mask: Any) -> None:
        if self._fused():
            self._forward_fused(xp, buffers, mask)
        else:
            self._forward_plain(xp, buffers, mask)

    def _recurrent_bias(self) -> Any:
        return self.bias.value[1] if self.bias is not None and self.reset_after else None

    def _forward_fused(self, xp: Any, b: dict[str, Any], mask: Any) -> None:
        h, gates, inner, xw = b["h"], b["gates"], b["inner"], b["xw"]
        kernel, bias = self.recurrent_kernel.value, self._recurrent_bias()
        for s in range(xw.shape[0]):
            recurrent_product(xp, self._recurrent_dropout, h[s], kernel, inner[s])
            if bias is not None:
                inner[s] += bias
            kernels.gru_forward_op(xw[s], inner[s], h[s], mask[s], self.units, gates[s], h[s + 1])

    def _forward_plain(self, xp: Any, b: dict[str, Any], mask: Any) -> None:
        h, gates, inner, xw, z_all = b["h"], b["gates"], b["inner"], b["xw"], b["z"]
        u, kernel, bias = self.units, self.recurrent_kernel.value, self._recurrent_bias()
        gate, act = self.recurrent_activation, self.activation
        dropout = self._recurrent_dropout
        for s in range(xw.shape[0]):
            if self.reset_after:
                recurrent_product(xp, dropout, h[s], kernel, inner[s])
                if bias is not None:
                    inner[s] += bias
            elif dropout is None:
                xp.matmul(h[s], kernel[:, : 2 * u], out=inner[s][:, : 2 * u])
            else:
                dropout.product(xp, h[s], inner[s][:, : 2 * u])
            z = z_all[s]
            z[:, : 2 * u] = xw[s][:, : 2 * u] + inner[s][:, : 2 * u]
            gates[s][:, :u] = gate.forward(z[:, :u])
            gates[s][:, u : 2 * u] = gate.forward(z[:, u : 2 * u])
            update, reset, _ = _blocks(gates[s], u)
            if self.reset_after:
                z[:, 2 * u :] = xw[s][:, 2 * u :] + reset * inner[s][:, 2 * u :]
            else:
                b["rh"][s] = reset * self._candidate_state(h[s])
                z[:, 2 * u :] = xw[s][:, 2 * u :] + b["rh"][s] @ kernel[:, 2 * u :]
            gates[s][:, 2 * u :] = act.forward(z[:, 2 * u :])
            candidate = gates[s][:, 2 * u :]
            h[s + 1] = xp.where(mask[s] != 0, candidate + update * (h[s] - candidate), h[s])

    # -- backward through time ---------------------------------------------
    def _backward_steps(
        self,
        xp: Any,
        buffers: dict[str, Any],
        mask: Any,
        dout_seq: Any,
        dout_last: Any,
        grad_states: list[Any],
    ) -> tuple[Any, list[Any]]:
        b, u = buffers, self.units
        self._start_state_grads(b, ["dh"], grad_states)
        kernel = self.recurrent_kernel.value
        # reset_after=False sends only z and r through the full recurrent product.
        width = 3 * u if self.reset_after else 2 * u
        kernel_t = kernel[:, :width].T
        dh, steps = b["dh"], b["xw"].shape[0]
        fused, dropout = self._fused(), self._recurrent_dropout
        for s in reversed(range(steps)):
            self._add_output_grad(dh, s, steps, dout_seq, dout_last)
            if fused:
                kernels.gru_backward_op(
                    b["gates"][s], b["inner"][s], b["h"][s], mask[s], dh, u,
                    b["dx"][s], b["dinner"][s], b["dh_carry"],
                )  # fmt: skip
            else:
                self._step_backward_plain(xp, b, mask, s, dh)
            if dropout is None:
                xp.matmul(b["dinner"][s][:, :width], kernel_t, out=dh)
            else:
                dropout.state_grad(xp, b["dinner"][s][:, :width], dh)
            dh += b["dh_carry"]
        if self.trainable:
            self._recurrent_grads(xp, b, width)
        return b["dx"], [dh.copy()]

    def _step_backward_plain(self, xp: Any, b: dict[str, Any], mask: Any, s: int, dh: Any) -> None:
        u, m, h_prev = self.units, mask[s], b["h"][s]
        gate, act = self.recurrent_activation, self.activation
        update, reset, candidate = _blocks(b["gates"][s], u)
        z, dx, dinner = b["z"][s], b["dx"][s], b["dinner"][s]
        dh_new = dh * m
        da = act.backward(z[:, 2 * u :], candidate, dh_new * (1.0 - update))
        dx[:, :u] = gate.backward(z[:, :u], update, dh_new * (h_prev - candidate))
        carry = dh_new * update + dh * (1.0 - m)
        if self.reset_after:
            d_reset = da * b["inner"][s][:, 2 * u :]
            dinner[:, 2 * u :] = da * reset
        else:
            d_rh = da @ self.recurrent_kernel.value[:, 2 * u :].T
            d_reset = d_rh * self._candidate_state(h_prev)
            carry += self._candidate_state(d_rh * reset)
        dx[:, u : 2 * u] = gate.backward(z[:, u : 2 * u], reset, d_reset)
        dx[:, 2 * u :] = da
        dinner[:, : 2 * u] = dx[:, : 2 * u]
        b["dh_carry"][...] = carry

    def _candidate_state(self, h: Any) -> Any:
        """``h`` as reset_after=False's candidate sees it: through the h block's mask."""
        dropout = self._recurrent_dropout
        return h if dropout is None else h * dropout.masks[2]

    def _dropped_recurrent_kernel(self) -> Any:
        kernel = self.recurrent_kernel.value
        return kernel if self.reset_after else kernel[:, : 2 * self.units]

    def _recurrent_grads(self, xp: Any, b: dict[str, Any], width: int) -> None:
        u = self.units
        h_prev = b["h"][:-1].reshape(-1, u)
        dinner = b["dinner"].reshape(-1, 3 * u)
        grad = self.recurrent_kernel.grad
        if self._recurrent_dropout is not None:  # the z, r (and h) blocks through the masks
            self._recurrent_dropout.kernel_grad(xp, b["h"][:-1], b["dinner"], grad)
        elif self.reset_after:
            xp.matmul(h_prev.T, dinner, out=grad)
        else:
            grad[:, :width] = h_prev.T @ dinner[:, :width]
        if self.reset_after and self.bias is not None:
            self.bias.grad[1] = dinner.sum(axis=0)
        if not self.reset_after:  # rh already holds the h block's masked state
            grad[:, width:] = b["rh"].reshape(-1, u).T @ b["dx"].reshape(-1, 3 * u)[:, width:]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reset_after": self.reset_after}
