"""The element-wise maximum or minimum of a list of inputs, folded pair by pair."""

from __future__ import annotations

from typing import Any

from gpukeras.layers.merging._base import Merge


class Extremum(Merge):
    """Base of Maximum and Minimum (not public).

    The inputs fold left to right, ``out_k = max(out_{k-1}, x_k)``, as Keras folds them;
    backward walks the folds back. At a tie each side gets half the gradient, as JAX's
    ``maximum`` gives it, so training matches Keras on JAX where ReLU outputs meet at 0.
    """

    call_state = ("_input_shapes", "_inputs", "_folds")

    def _pick(self, xp: Any, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def _wins(self, a: Any, b: Any) -> Any:
        """Where ``a`` strictly wins over ``b``."""
        raise NotImplementedError

    def _merge(self, xp: Any, inputs: list[Any]) -> Any:
        # Keras's masked fold: a masked entry of x takes the running output's value, a
        # masked entry of the running output takes x's; masks OR together while every
        # input has one.
        masks = self._value_masks(xp, inputs) or [None] * len(inputs)
        output, output_mask = inputs[0], masks[0]
        folds = []
        for x, mask in zip(inputs[1:], masks[1:]):
            x_in = x if mask is None else xp.where(mask, x, output)
            out_in = output if output_mask is None else xp.where(output_mask, output, x_in)
            folds.append((mask, output_mask, out_in, x_in))
            both = mask is not None and output_mask is not None
            output_mask = xp.logical_or(output_mask, mask) if both else None
            output = self._pick(xp, out_in, x_in)
        self._folds = folds
        return output if folds else output.copy()

    def _merge_grads(self, xp: Any, grad: Any) -> list[Any]:
        grads: list[Any] = [None] * len(self._inputs)
        for k in reversed(range(1, len(self._inputs))):
            mask, output_mask, out_in, x_in = self._folds[k - 1]
            tie = xp.where(out_in == x_in, 0.5, 0.0)
            share = xp.where(self._wins(out_in, x_in), 1.0, tie).astype(grad.dtype, copy=False)
            grad_out_in, grad_x_in = grad * share, grad * (1.0 - share)
            grad = grad_out_in
            if output_mask is not None:
                grad, grad_x_in = grad * output_mask, grad_x_in + grad_out_in * ~output_mask
            grads[k] = grad_x_in
            if mask is not None:
                grads[k], grad = grad_x_in * mask, grad + grad_x_in * ~mask
        grads[0] = grad
        return grads
