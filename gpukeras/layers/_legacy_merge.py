"""Keras 1's ``Merge([branch_a, branch_b], mode=...)``: branches joined into one model.

Keras 1 scripts put a ``Merge`` first in a ``Sequential`` and fit it on a list of
arrays, one per branch. Keras 2 replaced it with the merge layers and the functional
API; here ``Merge`` builds exactly that: one ``keras.Input`` per branch, each branch
called on its input, the outputs combined by ``mode`` with ``keras.ops`` (recorded on
the tape, so differentiable), all as a functional ``Model``. A ``Sequential`` takes that
model as its first layer and is then fitted, evaluated and used on ``[x_a, x_b, ...]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras import ops
from gpukeras._legacy import warn_user
from gpukeras._naming import unique_name


def _sum(tensors: list[Any]) -> Any:
    out = tensors[0]
    for tensor in tensors[1:]:
        out = ops.add(out, tensor)
    return out


def _product(tensors: list[Any]) -> Any:
    out = tensors[0]
    for tensor in tensors[1:]:
        out = ops.multiply(out, tensor)
    return out


def _maximum(tensors: list[Any]) -> Any:
    out = tensors[0]
    for tensor in tensors[1:]:
        out = ops.maximum(out, tensor)
    return out


def _average(tensors: list[Any]) -> Any:
    return ops.multiply(_sum(tensors), 1.0 / len(tensors))


def _cosine(a: Any, b: Any, axes: tuple[int, int]) -> Any:
    """Keras 1's 'cos': the dot product over the norms (floored at ``epsilon``)."""
    norms = ops.multiply(K.batch_dot(a, a, axes), K.batch_dot(b, b, axes))
    return ops.divide(K.batch_dot(a, b, axes), ops.sqrt(ops.maximum(norms, K.epsilon())))


#: mode -> how the branch outputs combine (elementwise modes take any number of them).
ELEMENTWISE: dict[str, Callable[[list[Any]], Any]] = {
    "sum": _sum,
    "mul": _product,
    "ave": _average,
    "max": _maximum,
}
MODES = (*ELEMENTWISE, "concat", "dot", "cos")


def Merge(  # noqa: N802 - Keras 1's class name, kept so old scripts run
    layers: Sequence[Any] | None = None,
    mode: str = "sum",
    concat_axis: int = -1,
    dot_axes: int | Sequence[int] = -1,
    name: str | None = None,
    **kwargs: Any,
) -> Any:
    """Keras 1's merge of branch models, as a functional ``Model`` (see the module doc).

    Args:
        layers: Two or more branches (models or layers with a known input shape).
            Required.
        mode: ``'sum'``, ``'mul'``, ``'ave'``, ``'max'`` (elementwise, equal shapes),
            ``'concat'`` (along ``concat_axis``), ``'dot'`` or ``'cos'`` (two branches,
            per-sample dot product or cosine over ``dot_axes``); default ``'sum'``.
        concat_axis: Axis joined by ``'concat'``, counting the batch axis; default -1.
        dot_axes: Axis (or one per branch) contracted by ``'dot'``/``'cos'``; default -1.
        name: The model's name; default ``merge``, ``merge_1``, ...
        **kwargs: Keras 1's ``output_shape``, ``output_mask``, ``node_indices``,
            ``tensor_indices`` and ``arguments`` are refused (they served callable modes
            and graph plumbing the functional API now does).

    Returns:
        A functional ``Model`` taking one input per branch.
    """
    warn_user(
        "`Merge` is Keras 1's; use the functional API with `keras.layers.Concatenate`, "
        f"`Add`, ... (or `keras.ops`) instead. Received: mode={mode!r}"
    )
    if kwargs:
        raise TypeError(
            "Merge: Keras 1's arguments for callable modes and graph plumbing are not "
            f"supported; write the model with the functional API. Received: {sorted(kwargs)}"
        )
    branches = _checked_branches(layers)
    if mode not in MODES:
        hint = " (a callable mode: use a `Lambda` layer)" if callable(mode) else ""
        raise ValueError(f"Merge: `mode` must be one of {MODES}{hint}. Received: mode={mode!r}")
    from gpukeras.layers._input import Input  # noqa: PLC0415 - layers import no models
    from gpukeras.models import Model  # noqa: PLC0415

    inputs = [Input(shape=tuple(_input_shape(branch))[1:]) for branch in branches]
    outputs = [branch(tensor) for branch, tensor in zip(branches, inputs)]
    # The functional API finds each op's output shape by running it on zeros; 'cos'
    # divides, and 0 / 0 there is no concern of the model's.
    with numpy.errstate(divide="ignore", invalid="ignore"):
        merged = _combine(outputs, mode, concat_axis, dot_axes)
    return Model(inputs, merged, name=name or unique_name("merge"))


def _checked_branches(layers: Any) -> list[Any]:
    if not isinstance(layers, (list, tuple)) or len(layers) < 2:
        raise ValueError(
            "Merge needs a list of at least two branches (models or layers). "
            f"Received: layers={layers!r}"
        )
    for branch in layers:
        if _input_shape(branch) is None:
            raise ValueError(
                "Merge: each branch needs a known input shape (give its first layer "
                f"`input_shape=`). Received: a branch {getattr(branch, 'name', branch)!r} "
                "without one"
            )
    return list(layers)


def _input_shape(branch: Any) -> Any:
    shape = getattr(branch, "input_shape", None)
    return shape if isinstance(shape, tuple) else None


def _combine(outputs: list[Any], mode: str, concat_axis: int, dot_axes: Any) -> Any:
    if mode == "concat":
        return ops.concatenate(outputs, axis=concat_axis)
    shapes = [tuple(output.shape) for output in outputs]
    if mode in ELEMENTWISE:
        if len(set(shapes)) != 1:
            raise ValueError(
                f"Merge mode {mode!r} needs branch outputs of one shape. Received: {shapes}"
            )
        return ELEMENTWISE[mode](outputs)
    if len(outputs) != 2:
        raise ValueError(
            f"Merge mode {mode!r} joins exactly two branches. Received: {len(outputs)}"
        )
    axes = (dot_axes, dot_axes) if isinstance(dot_axes, int) else tuple(dot_axes)
    axes = tuple(axis % len(shape) for axis, shape in zip(axes, shapes))
    if mode == "dot":
        return K.batch_dot(outputs[0], outputs[1], axes)
    return _cosine(outputs[0], outputs[1], axes)
