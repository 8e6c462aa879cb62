"""Fused CuPy kernels with their NumPy twins, grouped by the code that uses them.

``optimizers`` holds one update per optimizer (one launch per parameter on CuPy,
in place and allocation-free on NumPy).
"""

from gpukeras.backend.kernels._op import ElementwiseOp

__all__ = ["ElementwiseOp"]
