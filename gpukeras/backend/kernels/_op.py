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

import sys
from collections.abc import Callable
from typing import Any

import numpy

from gpukeras.backend._select import array_module, backend
from gpukeras.backend.kernels import _host, _registry


class ElementwiseOp:
    """One elementwise update with a CuPy kernel body and a NumPy twin.

    ``in_params``/``out_params``/``operation`` follow ``cupy.ElementwiseKernel``;
    outputs are updated in place on both backends. ``numpy_twin`` takes the
    same positional arguments (inputs, then outputs) and must not allocate
    arrays the size of its inputs where it can avoid it.

    ``scalars`` names the inputs callers pass as Python numbers (``int32`` inputs always are),
    so the CUDA compile check builds the same parameter list CuPy will; ``options`` are extra
    NVRTC options (``("--fmad=false",)`` where results must not depend on FMA contraction).
    Every op registers itself (:mod:`._registry`) so that check can find it.
    """

    kind = "elementwise"

    def __init__(
        self,
        name: str,
        in_params: str,
        out_params: str,
        operation: str,
        numpy_twin: Callable[..., None],
        *,
        scalars: tuple[str, ...] = (),
        options: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.in_params = in_params
        self.out_params = out_params
        self.operation = operation
        self.numpy_twin = numpy_twin
        self.scalars = tuple(scalars)
        self.options = tuple(options)
        self._kernel: Any = None
        _registry.register(self, sys._getframe(1).f_globals.get("__name__", ""))

    def definition(self) -> tuple[str, ...]:
        """What makes two ops the same kernel (compared when names collide)."""
        return (self.in_params, self.out_params, self.operation, *self.options)

    def placeholder_types(self, dtype: Any) -> dict[str, Any]:
        """The dtype of each one-letter type placeholder: ``dtype`` for all of them."""
        return {name: dtype for name in _registry.placeholders(self.in_params, self.out_params)}

    def __call__(self, *args: Any) -> None:
        if backend() == "cupy":
            for position, value in enumerate(args):
                if type(value) is numpy.ndarray:
                    self._refuse_host(position, value)
            self._cupy_kernel()(*args)
        elif not _host.run(self, args):
            self.numpy_twin(*args)

    def _refuse_host(self, position: int, value: numpy.ndarray) -> None:
        names = [p.split()[-1] for p in f"{self.in_params},{self.out_params}".split(",") if p]
        name = names[position] if position < len(names) else f"#{position}"
        raise TypeError(
            f"Kernel {self.name!r} runs on the CuPy backend and was given a host NumPy array "
            f"for `{name}` (shape {value.shape}, {value.dtype}): pass device arrays "
            "(backend.to_device(x)), or call the layer or model, which convert their inputs. "
            f"Received: {name}=numpy.ndarray"
        )

    def _cupy_kernel(self) -> Any:
        if self._kernel is None:
            cupy = array_module()
            self._kernel = cupy.ElementwiseKernel(
                self.in_params,
                self.out_params,
                self.operation,
                f"gpukeras_{self.name}",
                options=self.options,
            )
        return self._kernel
