"""Fused BatchNormalization kernels (channels last): one launch each on CuPy, NumPy twins.

Per-channel vectors (``scale``, ``shift``, ``mean``...) broadcast against ``(rows, channels)``
arrays, so a kernel reads each input once and writes each output once:

- ``affine``: ``y = x * scale + shift`` (Keras 3's ``x * inv + res`` with ``inv = gamma *
  rsqrt(var + eps)`` and ``res = beta - mean * inv``);
- ``grad``: the input gradient of training-mode normalization,
  ``dx = scale * (g - mean_g - (x - mean) * inv_std * mean_gxhat)`` where ``mean_g`` and
  ``mean_gxhat`` are the per-channel means of ``g`` and ``g * xhat``.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.backend.kernels._op import ElementwiseOp

__all__ = ["affine_op", "grad_op"]


def _affine_numpy(x: Any, scale: Any, shift: Any, y: Any) -> None:
    numpy.multiply(x, scale, out=y)
    y += shift


def _grad_numpy(
    x: Any, g: Any, mean: Any, inv_std: Any, scale: Any, mean_g: Any, mean_gxhat: Any, dx: Any
) -> None:
    numpy.subtract(x, mean, out=dx)
    dx *= inv_std * mean_gxhat
    numpy.subtract(g, dx, out=dx)
    dx -= mean_g
    dx *= scale


affine_op = ElementwiseOp(
    "batchnorm_affine", "T x, T scale, T shift", "T y", "y = x * scale + shift;", _affine_numpy
)
grad_op = ElementwiseOp(
    "batchnorm_grad",
    "T x, T g, T mean, T inv_std, T scale, T mean_g, T mean_gxhat",
    "T dx",
    "dx = scale * ((g - (x - mean) * (inv_std * mean_gxhat)) - mean_g);",
    _grad_numpy,
)
