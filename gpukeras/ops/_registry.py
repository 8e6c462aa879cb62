"""The op registry: one row per op, its forward, its VJP and its shape rule side by side.

``forward(xp, *arrays, **params)`` is one body for NumPy and CuPy.
``vjp(xp, g, y, *arrays, **params)`` returns one gradient per array (``None`` where
there is none), of the broadcast shape: the tape sums it back to each input's shape.
``shape(*shapes, **params)`` gives the output shape without computing anything.
``kind`` says how gradients treat the op:

- ``"differentiable"``: the VJP above;
- ``"zero"``: the output does not depend smoothly on the inputs (comparisons,
  ``floor``, ``ones_like``): it is returned as a plain array, a constant to the tape;
- ``"non_differentiable"``: recorded, and a gradient reaching it is an error
  (``argmax``), so a model that silently would not train fails loudly instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.autodiff import _state
from gpukeras.autodiff._errors import NonDifferentiableError, OpShapeError
from gpukeras.autodiff._node import make_node
from gpukeras.autodiff._scope import where
from gpukeras.autodiff._tensor import Tensor
from gpukeras.ops._dtypes import promote
from gpukeras.variables import Variable

KINDS = ("differentiable", "zero", "non_differentiable")
_PY_SCALARS = (bool, int, float)


@dataclass(frozen=True)
class OpDef:
    """One registered op."""

    name: str
    forward: Callable[..., Any]
    vjp: Callable[..., Any] | None
    shape: Callable[..., tuple[int, ...]]
    kind: str
    promote: tuple[int, ...] | bool


REGISTRY: dict[str, OpDef] = {}
# Ops written in terms of other ops: their gradients come from their parts.
COMPOSITES: dict[str, Callable[..., tuple[int, ...]]] = {}


def defop(
    name: str,
    forward: Callable[..., Any],
    vjp: Callable[..., Any] | None = None,
    shape: Callable[..., tuple[int, ...]] | None = None,
    kind: str = "differentiable",
    promote: tuple[int, ...] | bool = False,
) -> OpDef:
    """Register an op; ``promote`` (True, or the input positions) applies Keras's
    result-type rule to those inputs, leaving Python scalars weak."""
    if name in REGISTRY:
        raise ValueError(f"op {name!r} is registered twice")
    if kind not in KINDS or (kind == "differentiable") != (vjp is not None):
        raise ValueError(f"op {name!r}: a differentiable op needs a vjp, others none")
    if shape is None:
        raise ValueError(f"op {name!r} needs a shape rule")
    op = OpDef(name, forward, vjp, shape, kind, promote)
    REGISTRY[name] = op
    return op


def defcomposite(name: str, shape: Callable[..., tuple[int, ...]]) -> None:
    """Declare an op built from registered ops, with its shape rule."""
    if name in REGISTRY or name in COMPOSITES:
        raise ValueError(f"op {name!r} is registered twice")
    COMPOSITES[name] = shape


def to_array(x: Any, xp: Any, dtype: Any = None) -> Any:
    """``x`` as an array of ``xp`` (Keras's dtype for Python scalars and lists)."""
    t = type(x)
    if t is Tensor or isinstance(x, (Tensor, Variable)):
        x = x.value
    if isinstance(x, xp.ndarray) and (dtype is None or x.dtype == dtype):
        return x
    if dtype is None and not hasattr(x, "dtype"):
        dtype = _python_dtype(x)
    return K.to_device(x, dtype=dtype)


def _python_dtype(x: Any) -> Any:
    host = numpy.asarray(x)
    if host.dtype.kind == "f":
        return numpy.dtype(K.floatx())
    if host.dtype.kind in "iu" and host.dtype.itemsize == 8:
        return numpy.dtype("int32")
    return host.dtype


def _raw(x: Any, xp: Any, keep_scalars: bool) -> Any:
    # Exact types: NumPy scalars subclass float but are not weak, so they become arrays.
    if keep_scalars and type(x) in _PY_SCALARS:
        return x
    return to_array(x, xp)


def run(name: str, *args: Any, **params: Any) -> Any:
    """Apply the op ``name`` to ``args`` (arrays, Tensors, Variables, scalars)."""
    op = REGISTRY[name]
    xp = K.array_module()
    array_type = xp.ndarray
    keep_scalars = op.promote is not False
    raws = []
    for a in args:
        t = type(a)
        if t is array_type:
            raws.append(a)  # the common case first
        elif t is Tensor or t is Variable:
            raws.append(a.value)
        else:
            raws.append(_raw(a, xp, keep_scalars))
    if op.promote is True:
        raws = promote(xp, raws)
    elif op.promote:
        raws = _promote_some(xp, raws, op.promote)
    try:
        y = op.forward(xp, *raws, **params)
    except (ValueError, TypeError, IndexError) as exc:
        raise _input_error(name, raws, params, exc) from None
    if type(y) is not xp.ndarray:
        y = xp.asarray(y)  # NumPy reductions return scalars; ops always return arrays
    if not _state.active or _state.paused or op.kind == "zero":
        return y
    node = make_node(name, _vjp_of(op, xp, y, raws, params), args)
    return y if node is None else Tensor(y, node)


def _promote_some(xp: Any, raws: list[Any], positions: tuple[int, ...]) -> list[Any]:
    out = list(raws)
    for i, value in zip(positions, promote(xp, [raws[i] for i in positions])):
        out[i] = value
    return out


def _vjp_of(op: OpDef, xp: Any, y: Any, raws: list[Any], params: dict[str, Any]) -> Any:
    if op.vjp is None:
        return _refuse_gradient(op.name)
    vjp = op.vjp
    return lambda g: vjp(xp, g, y, *raws, **params)


def _refuse_gradient(name: str) -> Any:
    from gpukeras.autodiff._scope import current_scope

    scope_name = current_scope()

    def refuse(g: Any) -> Any:
        raise NonDifferentiableError(
            f"{where(name, scope_name)}: this op has no gradient, but the loss depends on "
            f"its output. Keep {name!r} off the gradient path (use it for metrics, or "
            "wrap its input in `ops.stop_gradient`), or use a differentiable form "
            "(e.g. `ops.softmax` instead of `ops.argmax`)."
        )

    return refuse


def _input_error(name: str, raws: list[Any], params: dict[str, Any], exc: Exception) -> Exception:
    shapes = ", ".join(str(_shape_of(r)) for r in raws)
    options = ", ".join(f"{k}={v!r}" for k, v in params.items() if not callable(v))
    detail = f" with {options}" if options else ""
    return OpShapeError(
        f"{where(name)}: cannot apply to inputs of shapes ({shapes}){detail}: {exc}. "
        f"Received: input shapes ({shapes})"
    )


def _shape_of(x: Any) -> Any:
    return tuple(x.shape) if hasattr(x, "shape") else type(x).__name__


def output_shape(name: str, *shapes: tuple[int, ...], **params: Any) -> tuple[int, ...]:
    """The shape ``name`` would produce from inputs of ``shapes``, computed symbolically."""
    rule = REGISTRY[name].shape if name in REGISTRY else COMPOSITES[name]
    return tuple(rule(*shapes, **params))
