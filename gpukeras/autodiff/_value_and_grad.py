"""``value_and_grad``: JAX's functional form of the tape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpukeras.autodiff._gradient_tape import GradientTape, _flatten, _unflatten
from gpukeras.autodiff._node import unwrap
from gpukeras.autodiff._tensor import Tensor
from gpukeras.variables import Variable


def value_and_grad(
    fn: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """``fn`` made to return ``(value, grads)``, grads of ``value`` for the ``argnums`` args.

    Each differentiated argument may be a Variable, an array, or nested lists/dicts of
    them; its gradient has the same structure (zeros where ``value`` does not depend on
    a leaf). With ``has_aux=True``, ``fn`` returns ``(value, aux)`` and the result is
    ``((value, aux), grads)``, as in JAX.
    """
    if not callable(fn):
        raise TypeError(f"value_and_grad needs a callable. Received: fn={fn!r}")
    single = isinstance(argnums, int)
    positions = (argnums,) if single else tuple(argnums)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        for p in positions:
            if not -len(args) <= p < len(args):
                raise ValueError(
                    f"value_and_grad: argnums={argnums!r} but the function was called with "
                    f"{len(args)} positional arguments"
                )
        # Arrays become leaf Tensors, so Python operators on them inside ``fn`` record too.
        args = list(args)
        for p in positions:
            args[p] = _as_leaves(args[p])
        sources = [args[p] for p in positions]
        with GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(sources)
            out = fn(*args, **kwargs)
        value, aux = (out[0], out[1]) if has_aux else (out, None)
        grads = tape.gradient(value, sources, unconnected_gradients="zero")
        grads = grads[0] if single else tuple(grads)
        value = unwrap(value)
        result = (value, _unwrap_all(aux)) if has_aux else value
        return result, grads

    return wrapped


def _as_leaves(structure: Any) -> Any:
    from gpukeras.ops import convert_to_tensor  # ops import the tape: resolved at call time

    leaves = [
        x if isinstance(x, (Variable, Tensor)) else Tensor(convert_to_tensor(x))
        for x in _flatten(structure)
    ]
    return _unflatten(structure, iter(leaves))


def _unwrap_all(structure: Any) -> Any:
    return _unflatten(structure, iter([unwrap(x) for x in _flatten(structure)]))
