"""Fused reductions for CuPy, each next to its NumPy twin (the reduction twin of ``_op``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from gpukeras.backend._select import array_module, backend
from gpukeras.backend.kernels import _registry


class ReductionOp:
    """One ``cupy.ReductionKernel`` over a whole array, with a NumPy twin.

    The first seven arguments follow ``cupy.ReductionKernel`` (``reduce_type`` may name a type
    placeholder). ``numpy_twin(*inputs, out=out)`` writes the same result into ``out``.
    ``type_rule(dtype)`` gives each type placeholder's dtype when the input has ``dtype`` (the
    default: every placeholder is ``dtype``); the CUDA compile check builds the kernel with it.
    """

    kind = "reduction"

    def __init__(
        self,
        name: str,
        in_params: str,
        out_params: str,
        map_expr: str,
        reduce_expr: str,
        post_map_expr: str,
        identity: str,
        numpy_twin: Callable[..., Any],
        *,
        reduce_type: str | None = None,
        type_rule: Callable[[Any], dict[str, Any]] | None = None,
        options: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.in_params = in_params
        self.out_params = out_params
        self.map_expr = map_expr
        self.reduce_expr = reduce_expr
        self.post_map_expr = post_map_expr
        self.identity = identity
        self.reduce_type = reduce_type
        self.numpy_twin = numpy_twin
        self.options = tuple(options)
        self._type_rule = type_rule
        self._kernel: Any = None
        _registry.register(self, sys._getframe(1).f_globals.get("__name__", ""))

    def definition(self) -> tuple[str, ...]:
        """What makes two ops the same kernel (compared when names collide)."""
        parts = (self.in_params, self.out_params, self.map_expr, self.reduce_expr)
        return (*parts, self.post_map_expr, self.identity, str(self.reduce_type), *self.options)

    def placeholder_types(self, dtype: Any) -> dict[str, Any]:
        """The dtype of each one-letter type placeholder when the input has ``dtype``."""
        if self._type_rule is not None:
            return self._type_rule(dtype)
        return {name: dtype for name in _registry.placeholders(self.in_params, self.out_params)}

    def __call__(self, *args: Any, out: Any) -> Any:
        if backend() == "cupy":
            return self._cupy_kernel()(*args, out=out)
        return self.numpy_twin(*args, out=out)

    def _cupy_kernel(self) -> Any:
        if self._kernel is None:
            cupy = array_module()
            self._kernel = cupy.ReductionKernel(
                self.in_params,
                self.out_params,
                self.map_expr,
                self.reduce_expr,
                self.post_map_expr,
                self.identity,
                f"gpukeras_{self.name}",
                reduce_type=self.reduce_type,
                options=self.options,
            )
        return self._kernel
