"""Fused elementwise kernels for CuPy, each next to its in-place NumPy twin.

An :class:`ElementwiseOp` is written twice on purpose: a CUDA expression that
CuPy compiles into one kernel (one launch instead of a handful), and NumPy code
that updates the same arrays in place without allocating. On the CPU the CUDA
expression is also compiled, as one C++ loop (:mod:`._host`), where a compiler
exists; the twin is what runs without one and what the compiled loop is tested
against. Callers pass arrays of the active backend and Python scalars; the op
picks the right body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpukeras.backend._select import array_module, backend
from gpukeras.backend.kernels import _host


class ElementwiseOp:
    """One elementwise update with a CuPy kernel body and a NumPy twin.

    ``in_params``/``out_params``/``operation`` follow ``cupy.ElementwiseKernel``;
    outputs are updated in place on both backends. ``numpy_twin`` takes the
    same positional arguments (inputs, then outputs) and must not allocate
    arrays the size of its inputs where it can avoid it.
    """

    def __init__(
        self,
        name: str,
        in_params: str,
        out_params: str,
        operation: str,
        numpy_twin: Callable[..., None],
    ) -> None:
        self.name = name
        self.in_params = in_params
        self.out_params = out_params
        self.operation = operation
        self.numpy_twin = numpy_twin
        self._kernel: Any = None

    def __call__(self, *args: Any) -> None:
        if backend() == "cupy":
            self._cupy_kernel()(*args)
        elif not _host.run(self, args):
            self.numpy_twin(*args)

    def _cupy_kernel(self) -> Any:
        if self._kernel is None:
            cupy = array_module()
            self._kernel = cupy.ElementwiseKernel(
                self.in_params, self.out_params, self.operation, f"gpukeras_{self.name}"
            )
        return self._kernel
