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
        folds = [inputs[0]]
        for x in inputs[1:]:
            folds.append(self._pick(xp, folds[-1], x))
        self._folds = folds
        return folds[-1] if len(folds) > 1 else folds[-1].copy()

    def _merge_grads(self, xp: Any, grad: Any) -> list[Any]:
        inputs, folds = self._inputs, self._folds
        grads: list[Any] = [None] * len(inputs)
        for k in reversed(range(1, len(inputs))):
            previous, x = folds[k - 1], inputs[k]
            share = xp.where(self._wins(previous, x), 1.0, xp.where(previous == x, 0.5, 0.0))
            share = share.astype(grad.dtype, copy=False)
            grads[k] = grad * (1.0 - share)
            grad = grad * share
        grads[0] = grad
        return grads
