"""A plain Python function used as an activation, differentiated by the tape.

Keras accepts any callable as ``activation=`` (``Dense(8, activation=my_fn)`` with ``my_fn``
written in ``keras.ops``). Built-in layers call ``activation.forward(x)`` and
``activation.backward(x, y, grad)``; for a plain function the backward pass is ``fn``'s
vector-Jacobian product from a tape of its own (``autodiff/_vjp.py``). Saved as Keras does,
by the function's name, and found again only among the custom objects passed when loading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class FunctionActivation:
    """``forward``/``backward`` for the function ``fn`` (written with ``gpukeras.ops``)."""

    has_default_params = True  # no parameters of its own: nothing to lose when saved

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.function = fn
        self.function_name = getattr(fn, "__name__", type(fn).__name__)
        # Not a built-in activation's name, so no fused path takes it for one.
        self.name = f"function:{self.function_name}"

    def forward(self, x: Any) -> Any:
        from gpukeras import autodiff

        return autodiff.unwrap(self.function(x))

    def backward(self, x: Any, y: Any, grad: Any) -> Any:
        from gpukeras.autodiff._vjp import vjp

        return vjp(self.function, x, grad)

    def __call__(self, x: Any) -> Any:
        return self.function(x)

    def get_config(self) -> dict[str, Any]:
        """Keras 3's form for a function: saved by name, loaded via ``custom_objects``."""
        return {
            "module": "builtins",  # no module to import: the name is looked up, never imported
            "class_name": "function",
            "config": self.function_name,
            "registered_name": self.function_name,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FunctionActivation) and other.function is self.function

    def __hash__(self) -> int:
        return hash(self.function)

    def __repr__(self) -> str:
        return f"<FunctionActivation {self.function_name}>"
