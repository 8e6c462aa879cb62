"""Fused CuPy kernels with their NumPy twins, grouped by the code that uses them.

``optimizers`` holds one update per optimizer (one launch per parameter on CuPy,
in place and allocation-free on NumPy). Every kernel registers itself in ``_registry``;
``_cuda_check`` compiles them all with NVRTC without a GPU (``tests/test_cuda_compile.py``).
"""

from gpukeras.backend.kernels._op import ElementwiseOp
from gpukeras.backend.kernels._reduction import ReductionOp

__all__ = ["ElementwiseOp", "ReductionOp"]
