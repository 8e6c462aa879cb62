"""LSTM: Keras 3's long short-term memory layer, gates ``[i, f, c, o]``.

Per step, with ``z = x_t @ kernel + h @ recurrent_kernel + bias`` split into four
blocks of ``units`` columns::

    i = recurrent_activation(z_i)    f = recurrent_activation(z_f)
    g = activation(z_c)              o = recurrent_activation(z_o)
    c = f * c_prev + i * g           h = o * activation(c)

With the default tanh/sigmoid the gate arithmetic of a step is one fused kernel
(``backend.kernels.recurrent``); other activations take the plain array path below.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import initializers
from gpukeras._legacy import legacy_arguments
from gpukeras.backend.kernels import recurrent as kernels
from gpukeras.layers._recurrent_dropout import recurrent_product
from gpukeras.layers._rnn_base import RNNBase, matmul_transposed_into
from gpukeras.layers._serialization import register

_LEGACY_RECURRENT = {
    "output_dim": ("units", None),
    "init": ("kernel_initializer", None),
    "inner_init": ("recurrent_initializer", None),
    "inner_activation": ("recurrent_activation", None),
    "W_regularizer": ("kernel_regularizer", None),
    "U_regularizer": ("recurrent_regularizer", None),
    "b_regularizer": ("bias_regularizer", None),
    "dropout_W": ("dropout", None),
    "dropout_U": ("recurrent_dropout", None),
}


@register
class LSTM(RNNBase):
    """Long Short-Term Memory layer (Hochreiter 1997), with Keras 3's weights.

    Weights: ``kernel`` (features, 4 * units), ``recurrent_kernel`` (units, 4 * units),
    ``bias`` (4 * units,), gate blocks in the order i, f, c, o.

    Args:
        units: Positive int, the size of the output and states. Required.
        activation: For the candidate and the cell output; default ``'tanh'``.
        recurrent_activation: For the i, f, o gates; default ``'sigmoid'``.
        use_bias: Default ``True``.
        kernel_initializer: Default ``'glorot_uniform'``.
        recurrent_initializer: Default ``'orthogonal'``.
        bias_initializer: Default ``'zeros'``.
        unit_forget_bias: Start the forget gate's bias at 1; default ``True``.
        kernel_regularizer: Default ``None``.
        recurrent_regularizer: Default ``None``.
        bias_regularizer: Default ``None``.
        activity_regularizer: Default ``None``.
        kernel_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        recurrent_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        bias_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        dropout: Fraction of input features dropped while training, one mask per
            sequence; default ``0.0``.
        recurrent_dropout: Fraction of the carried state's units dropped while training,
            one mask per gate and sequence (Keras 1's ``dropout_U``); default ``0.0``.
        seed: Seed of the dropout stream; default ``None``.
        return_sequences: Return every step's output, not just the last; default ``False``.
        return_state: Also return the final ``h`` and ``c``; default ``False``.
        go_backwards: Process the sequence in reverse (and return it reversed);
            default ``False``.
        stateful: Carry the final states into the next batch (fixed batch size; see
            ``reset_states``); default ``False``.
        unroll: Accepted for compatibility, no effect; default ``False``.
        use_cudnn: Accepted for compatibility (``'auto'``, True, False); default ``'auto'``.
        **kwargs: :class:`Layer` arguments, ``zero_output_for_mask`` (default ``False``),
            and Keras 1 names (``output_dim``, ``init``, ``inner_init``,
            ``inner_activation``, ``W_regularizer``, ``U_regularizer``, ``b_regularizer``,
            ``dropout_W``, ``dropout_U``) with a DeprecationWarning.
    """

    gate_blocks = 4
    state_count = 2

    @legacy_arguments("LSTM", _LEGACY_RECURRENT)
    def __init__(
        self,
        units: int | None = None,
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
        self.unit_forget_bias = bool(unit_forget_bias)

    def _make_bias(self) -> Any:
        bias = super()._make_bias()
        if self.unit_forget_bias:
            u = self.units
            parts = [
                self.bias_initializer((u,), dtype=self.dtype),
                initializers.get("ones")((u,), dtype=self.dtype),
                self.bias_initializer((2 * u,), dtype=self.dtype),
            ]
            bias.assign(numpy.concatenate(parts))
        return bias

    def _state_names(self) -> list[str]:
        return ["h", "c"]

    def _allocate(self, xp: Any, steps: int, batch: int) -> dict[str, Any]:
        u = self.units
        if xp.__name__ != "numpy":  # the fused CUDA kernels index C-ordered rows
            step_major = time_major = _c_ordered(xp, self.dtype)
        else:
            step_major, time_major = _batch_minor(xp, self.dtype)
        buffers = {
            "xw": step_major(steps, batch, 4 * u),
            "h": time_major(steps + 1, batch, u),
            "c": step_major(steps + 1, batch, u),
            "gates": step_major(steps, batch, 4 * u),
            "tanh_c": step_major(steps, batch, u),
            "dz": time_major(steps, batch, 4 * u),
        }
        for name in ("dh", "dh_carry", "dc", "dc_carry"):
            buffers[name] = step_major(1, batch, u)[0]
        if not self._uses_fused_gates():
            buffers["z"] = step_major(steps, batch, 4 * u)
            buffers["c_raw"] = step_major(steps, batch, u)
        return buffers

    # -- forward ----------------------------------------------------------
    def _forward_steps(self, xp: Any, buffers: dict[str, Any], mask: Any) -> None:
        if self._uses_fused_gates():
            self._forward_fused(xp, buffers, mask)
        else:
            self._forward_plain(xp, buffers, mask)

    def _forward_fused(self, xp: Any, b: dict[str, Any], mask: Any) -> None:
        h, c, gates, tanh_c, xw = b["h"], b["c"], b["gates"], b["tanh_c"], b["xw"]
        kernel = self.recurrent_kernel.value
        dropout = self._recurrent_dropout
        for s in range(xw.shape[0]):
            recurrent_product(xp, dropout, h[s], kernel, gates[s])
            kernels.lstm_forward_op(
                xw[s], c[s], h[s], mask[s], self.units, gates[s], c[s + 1], h[s + 1], tanh_c[s]
            )

    def _forward_plain(self, xp: Any, b: dict[str, Any], mask: Any) -> None:
        h, c, gates, tanh_c, xw = b["h"], b["c"], b["gates"], b["tanh_c"], b["xw"]
        z_all, c_raw = b["z"], b["c_raw"]
        kernel, u = self.recurrent_kernel.value, self.units
        gate, act = self.recurrent_activation, self.activation
        for s in range(xw.shape[0]):
            recurrent_product(xp, self._recurrent_dropout, h[s], kernel, z_all[s])
            z = z_all[s]
            z += xw[s]
            for block, fn in enumerate((gate, gate, act, gate)):
                gates[s][:, block * u : (block + 1) * u] = fn.forward(
                    z[:, block * u : (block + 1) * u]
                )
            i, f, g, o = _blocks(gates[s], u)
            c_raw[s] = f * c[s] + i * g
            tanh_c[s] = act.forward(c_raw[s])
            runs = mask[s] != 0
            c[s + 1] = xp.where(runs, c_raw[s], c[s])
            h[s + 1] = xp.where(runs, o * tanh_c[s], h[s])

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
        b = buffers
        self._start_state_grads(b, ["dh", "dc"], grad_states)
        step_backward = (
            self._step_backward_fused if self._uses_fused_gates() else self._step_backward_plain
        )
        kernel_t = xp.ascontiguousarray(self.recurrent_kernel.value.T)
        masked = mask is not b["ones"]
        dh, dc, dc_carry = b["dh"], b["dc"], b["dc_carry"]
        steps, dropout = b["xw"].shape[0], self._recurrent_dropout
        for s in reversed(range(steps)):
            self._add_output_grad(dh, s, steps, dout_seq, dout_last)
            step_backward(xp, b, mask, s, dh, dc, dc_carry)
            if dropout is None:
                xp.matmul(b["dz"][s], kernel_t, out=dh)
            else:
                dropout.state_grad(xp, b["dz"][s], dh)
            if masked:  # unmasked steps carry nothing past dz
                dh += b["dh_carry"]
            dc, dc_carry = dc_carry, dc
        if self.trainable and dropout is not None:
            dropout.kernel_grad(xp, b["h"][:-1], b["dz"], self.recurrent_kernel.grad)
        elif self.trainable:
            u = self.units
            matmul_transposed_into(
                xp,
                b["h"][:-1].reshape(-1, u),
                b["dz"].reshape(-1, 4 * u),
                self.recurrent_kernel.grad,
            )
        return b["dz"], [dh.copy(), dc.copy()]

    def _step_backward_fused(
        self, xp: Any, b: dict[str, Any], mask: Any, s: int, dh, dc, dc_carry
    ) -> None:
        kernels.lstm_backward_op(
            b["gates"][s], b["tanh_c"][s], b["c"][s], mask[s], dh, dc, self.units,
            b["dz"][s], b["dh_carry"], dc_carry,
        )  # fmt: skip

    def _step_backward_plain(
        self, xp: Any, b: dict[str, Any], mask: Any, s: int, dh, dc, dc_carry
    ) -> None:
        u, m = self.units, mask[s]
        gate, act = self.recurrent_activation, self.activation
        i, f, g, o = _blocks(b["gates"][s], u)
        dh_new = dh * m
        dc_new = dc * m + act.backward(b["c_raw"][s], b["tanh_c"][s], dh_new * o)
        block_grads = (dc_new * g, dc_new * b["c"][s], dc_new * i, dh_new * b["tanh_c"][s])
        z, dz = b["z"][s], b["dz"][s]
        for block, (fn, grad) in enumerate(zip((gate, gate, act, gate), block_grads)):
            cols = slice(block * u, (block + 1) * u)
            dz[:, cols] = fn.backward(z[:, cols], b["gates"][s][:, cols], grad)
        keep = 1.0 - m
        dc_carry[...] = dc_new * f + dc * keep
        b["dh_carry"][...] = dh * keep

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


def _blocks(row: Any, units: int) -> list[Any]:
    return [row[:, k * units : (k + 1) * units] for k in range(row.shape[1] // units)]


def _c_ordered(xp: Any, dtype: Any) -> Any:
    def allocate(steps: int, batch: int, width: int) -> Any:
        return xp.empty((steps, batch, width), dtype=dtype)

    return allocate


def _batch_minor(xp: Any, dtype: Any) -> tuple[Any, Any]:
    """Allocators of ``(steps, batch, width)`` buffers whose batch axis is contiguous.

    NumPy's elementwise loops are several times faster over contiguous memory than over
    the column blocks of a C-ordered ``(batch, 4 * units)`` gate row. *Step-major*
    buffers hold each step as a column-major ``(batch, width)`` matrix, so every gate
    block of a step is contiguous. *Time-major* buffers (``h`` and ``dz``) are
    ``(width, steps, batch)`` in memory, so that ``buffer.reshape(steps * batch, width)``
    stays a view and the weight gradients over all steps are one GEMM each.
    """

    def step_major(steps: int, batch: int, width: int) -> Any:
        return xp.empty((steps, width, batch), dtype=dtype).transpose(0, 2, 1)

    def time_major(steps: int, batch: int, width: int) -> Any:
        return xp.empty((width, steps, batch), dtype=dtype).transpose(1, 2, 0)

    return step_major, time_major
