"""Recurrent dropout: masks on the carried state ``h`` where it meets ``recurrent_kernel``.

Keras (1's ``dropout_U``, 2's and 3's ``recurrent_dropout``) draws one mask per gate
block (i, f, c, o for LSTM; z, r, h for GRU; one for SimpleRNN), each ``(batch, units)``
and fixed for the whole sequence, and multiplies ``h_prev`` by a gate's mask before it
is projected for that gate. Only the recurrent product sees the masks; the state that is
carried on (LSTM's ``c``, GRU's ``z * h_prev``) does not.

With masks, the step's one ``h @ recurrent_kernel`` GEMM becomes one batched GEMM over
the blocks (``(h * m_k) @ K_k`` for every ``k`` at once); its backward is the batched
transpose, summed over the blocks, and the kernel's gradient one GEMM per block over all
steps. Without recurrent dropout none of this runs.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K


def draw_masks(rate: float, blocks: int, batch: int, units: int, dtype: Any, generator: Any) -> Any:
    """``(blocks, batch, units)`` keep masks scaled by ``1 / (1 - rate)``."""
    keep = K.random.uniform((blocks, batch, units), dtype, generator) >= rate
    return keep.astype(dtype) * (1.0 / (1.0 - rate))


class RecurrentDropout:
    """One call's masks and the recurrent products that use them.

    Args:
        xp: The array module. Required.
        masks: ``(blocks, batch, units)`` masks, one per gate block. Required.
        kernel: The ``(units, blocks * units)`` recurrent kernel columns the masks
            apply to (GRU with ``reset_after=False`` passes only its z and r columns).
    """

    def __init__(self, xp: Any, masks: Any, kernel: Any) -> None:
        units = int(masks.shape[2])
        self.blocks = int(kernel.shape[1]) // units
        self.masks = masks
        self._used = masks[: self.blocks]
        # (blocks, units, units): block k is K[:, k*u:(k+1)*u], so one batched GEMM
        # projects every block's masked state.
        self.kernel_blocks = xp.ascontiguousarray(
            kernel.reshape(units, self.blocks, units).transpose(1, 0, 2)
        )

    def product(self, xp: Any, h: Any, out: Any) -> None:
        """``out[:, block k] = (h * m_k) @ K_k`` for every block."""
        projected = xp.matmul(h[None] * self._used, self.kernel_blocks)
        out[...] = projected.transpose(1, 0, 2).reshape(out.shape)

    def state_grad(self, xp: Any, dz: Any, out: Any) -> None:
        """``out = sum_k (dz[:, block k] @ K_k.T) * m_k``: the gradient reaching ``h``."""
        batch, units = int(dz.shape[0]), int(self._used.shape[2])
        per_block = dz.reshape(batch, self.blocks, units).transpose(1, 0, 2)
        back = xp.matmul(per_block, self.kernel_blocks.transpose(0, 2, 1))
        back *= self._used
        out[...] = back.sum(axis=0)

    def kernel_grad(self, xp: Any, h_prev: Any, dz: Any, grad: Any) -> None:
        """``grad[:, block k] = sum over steps of (h_prev * m_k).T @ dz[:, block k]``.

        ``h_prev`` is ``(steps, batch, units)``, ``dz`` ``(steps, batch, >= blocks * units)``.
        """
        units = int(self._used.shape[2])
        for k in range(self.blocks):
            cols = slice(k * units, (k + 1) * units)
            masked = (h_prev * self._used[k]).reshape(-1, units)
            grad[:, cols] = masked.T @ dz[:, :, cols].reshape(-1, units)


def recurrent_product(xp: Any, dropout: Any, h: Any, kernel: Any, out: Any) -> None:
    """``out = h @ kernel``, through the masks when the call has recurrent dropout."""
    if dropout is None:
        xp.matmul(h, kernel, out=out)
    else:
        dropout.product(xp, h, out)
