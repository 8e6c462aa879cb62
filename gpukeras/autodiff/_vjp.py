"""The vector-Jacobian product of a function of ``gpukeras.ops``, taken on its own tape.

Used where a hand-written backward pass meets user code: a built-in layer whose activation
is a plain Python function (``Dense(8, activation=my_fn)``) asks for ``fn``'s VJP inside its
own ``backward``, which itself may run inside another tape's backward pass (where nothing
records). The function is re-run on a fresh tape of its own, so the outer tapes see none of
its ops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpukeras.autodiff import _state


def vjp(fn: Callable[[Any], Any], x: Any, grad: Any) -> Any:
    """``grad`` pulled back through ``fn`` at ``x``: d(sum(fn(x) * grad)) / dx."""
    from gpukeras.autodiff._gradient_tape import GradientTape
    from gpukeras.autodiff._tensor import Tensor

    leaf = Tensor(x)  # so that Python operators in ``fn`` (``1.5 * x``) record too
    saved_active, saved_paused = list(_state.active), list(_state.paused)
    _state.active.clear()
    _state.paused.clear()
    try:
        with GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(leaf)
            out = fn(leaf)
        return tape.gradient(out, leaf, output_gradients=grad, unconnected_gradients="zero")
    finally:
        _state.active[:] = saved_active
        _state.paused[:] = saved_paused
