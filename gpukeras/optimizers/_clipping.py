"""Gradient clipping for the fused step: ``clipnorm``, ``global_clipnorm`` and ``clipvalue``.

The fused kernels take each gradient as ``grad * gmul / gdiv`` clipped to ``[glo, ghi]``; this
mixin computes ``gmul``/``gdiv`` on the device (norms never come back to the host), in buffers
reused step after step. :meth:`GradientClipping._clip_gradients` is the same rule as plain
arrays, for code that wants the clipped gradients themselves (gradient accumulation, Keras's
tests).
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.backend.kernels import optimizers as kernels
from gpukeras.variables import Variable


class GradientClipping:
    """Mixin of ``Optimizer``: needs ``clipnorm``, ``global_clipnorm``, ``clipvalue``,
    ``_index``, ``_constants`` and ``_clip_buffers``."""

    clipnorm: float | None
    clipvalue: float | None
    global_clipnorm: float | None
    _index: dict[int, int]
    _constants: dict[tuple[Any, ...], Any]
    _clip_buffers: dict[str, Any]

    def _clip_gradients(self, grads: list[Any]) -> list[Any]:
        """``grads`` clipped as the step clips them, as new arrays (``None`` stays ``None``)."""
        xp = K.array_module()
        arrays = [None if g is None else K.to_device(getattr(g, "value", g)) for g in grads]
        present = [g for g in arrays if g is not None]
        if self.clipnorm:
            factors = [self._norm_factor(g) for g in present]
        elif self.global_clipnorm:
            scale = self._global_scale(present)
            factors = [self._in_dtype(scale, g.dtype) for g in present]
        else:
            factors = [None] * len(present)
        clipped = iter(
            [g * f if f is not None else g.copy() for g, f in zip(present, factors, strict=True)]
        )
        out = [None if g is None else next(clipped) for g in arrays]
        if self.clipvalue:
            out = [None if g is None else xp.clip(g, -self.clipvalue, self.clipvalue) for g in out]
        return out

    def _norm_factor(self, grad: Any) -> Any:
        """``clipnorm / max(||grad||, clipnorm)`` as a 0-d array in ``grad``'s dtype."""
        xp = K.array_module()
        norm = xp.zeros((), dtype=kernels.accumulation_dtype(grad.dtype))
        kernels.squared_sum(grad, out=norm)
        return (self.clipnorm / xp.maximum(xp.sqrt(norm), self.clipnorm)).astype(grad.dtype)

    def _constant(self, value: float, dtype: Any) -> Any:
        """A cached 0-d array holding ``value`` (kernel inputs that are usually neutral)."""
        key = (K.backend(), value, numpy.dtype(dtype).str)
        array = self._constants.get(key)
        if array is None:
            array = self._constants[key] = K.array_module().full((), value, dtype=dtype)
        return array

    def _clip_factors(self, grads: list[Any], variables: list[Variable]) -> list[tuple[Any, Any]]:
        """``(gmul, gdiv)`` per gradient: the kernels use ``grad * gmul / gdiv``."""
        if self.clipnorm:
            return [self._clipnorm_factors(g, v) for g, v in zip(grads, variables, strict=False)]
        if self.global_clipnorm:
            scale = self._global_scale(grads)
            return [(self._in_dtype(scale, g.dtype), self._constant(1.0, g.dtype)) for g in grads]
        return [(self._constant(1.0, g.dtype), self._constant(1.0, g.dtype)) for g in grads]

    def _clipnorm_factors(self, grad: Any, variable: Variable) -> tuple[Any, Any]:
        # Keras: grad * clipnorm / max(||grad||, clipnorm).
        xp = K.array_module()
        key = f"norm/{self._index[id(variable)]}"
        norm = self._clip_buffers.get(key)
        if norm is None:
            wide = kernels.accumulation_dtype(grad.dtype)
            norm = self._clip_buffers[key] = xp.zeros((), dtype=wide)
        kernels.squared_sum(grad, out=norm)
        xp.sqrt(norm, out=norm)
        xp.maximum(norm, self.clipnorm, out=norm)
        if norm.dtype == grad.dtype:
            return self._constant(self.clipnorm, grad.dtype), norm
        # 16-bit gradients: the norm (summed in float32) may not fit their dtype, the factor
        # clipnorm / max(norm, clipnorm) <= 1 does. The kernel's inputs share one dtype.
        factor = self._clip_buffers.get(key + "/factor")
        if factor is None:
            factor = self._clip_buffers[key + "/factor"] = xp.zeros((), dtype=grad.dtype)
        xp.divide(self.clipnorm, norm, out=norm)
        factor[...] = norm
        return factor, self._constant(1.0, grad.dtype)

    def _global_scale(self, grads: list[Any]) -> Any:
        # Keras: scale = c * min(1/norm, 1/c) + (norm - norm); the last term turns a non-finite
        # norm into NaN. Per-gradient squared sums go into one buffer, summed like Keras's stack.
        xp = K.array_module()
        dtype = grads[0].dtype
        wide = kernels.accumulation_dtype(dtype)  # float32 for 16-bit gradients
        squares = self._clip_buffers.get("squares")
        if squares is None or squares.shape[0] != len(grads) or squares.dtype != wide:
            squares = self._clip_buffers["squares"] = xp.zeros(len(grads), dtype=wide)
            # 0-d views, one per gradient, so each squared sum lands in place.
            views = [squares[i : i + 1].reshape(()) for i in range(len(grads))]
            self._clip_buffers["views"] = views
            self._clip_buffers["norm"] = xp.zeros((), dtype=wide)
            self._clip_buffers["scale"] = xp.zeros((), dtype=wide)
            self._clip_buffers["spare"] = xp.zeros((), dtype=wide)
        norm, scale, spare = (self._clip_buffers[k] for k in ("norm", "scale", "spare"))
        for grad, view in zip(grads, self._clip_buffers["views"], strict=False):
            kernels.squared_sum(self._in_dtype(grad, dtype), out=view)
        c = self.global_clipnorm
        with numpy.errstate(divide="ignore", invalid="ignore"):  # norm 0 or inf is expected
            xp.sum(squares, out=norm)
            xp.sqrt(norm, out=norm)
            xp.divide(1.0, norm, out=scale)
            xp.minimum(scale, 1.0 / c, out=scale)
            xp.multiply(scale, c, out=scale)
            xp.subtract(norm, norm, out=spare)
            xp.add(scale, spare, out=scale)
        return scale

    @staticmethod
    def _in_dtype(array: Any, dtype: Any) -> Any:
        return array if array.dtype == dtype else array.astype(dtype)
