"""Reverse accumulation over the recorded graph, from one target back to its leaves."""

from __future__ import annotations

from typing import Any

from gpukeras.autodiff import _state
from gpukeras.autodiff._scope import where
from gpukeras.autodiff._tensor import Tensor
from gpukeras.backend import get_array_module


def _topological(root: Tensor) -> list[Tensor]:
    """Tensors reachable from ``root``, every input before the tensors made from it."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        node = tensor._node
        if node is None or node.vjp is None:
            continue
        for parent in node.parents:
            if type(parent) is Tensor and id(parent) not in seen:
                stack.append((parent, False))
    return order


def unbroadcast(grad: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """Sum ``grad`` over the axes broadcasting added or stretched, back to ``shape``."""
    if grad.shape != shape:
        xp = get_array_module(grad)
        extra = grad.ndim - len(shape)
        if extra > 0:
            grad = grad.sum(axis=tuple(range(extra)))
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if stretched:
            grad = grad.sum(axis=stretched, keepdims=True)
        if grad.shape != shape:  # a 0-d input met a 0-d gradient of another layout
            grad = xp.reshape(grad, shape)
    if grad.dtype != dtype and dtype.kind == "f":
        grad = grad.astype(dtype)
    return grad


def backward(target: Tensor, seed: Any, keep: set[int]) -> tuple[dict[int, Any], list[Any]]:
    """Gradients of ``target`` (seeded with ``seed``) for every leaf and for ids in ``keep``.

    Returns the gradients by ``id`` and the nodes visited (so the caller can free them).
    """
    grads: dict[int, Any] = {id(target): seed}
    visited: list[Any] = []
    _state.paused.append(True)
    try:
        for tensor in reversed(_topological(target)):
            node = tensor._node
            if node is None or node.vjp is None:
                continue
            grad = grads.get(id(tensor)) if id(tensor) in keep else grads.pop(id(tensor), None)
            if grad is None:
                continue
            visited.append(node)
            _accumulate(grads, node, node.vjp(grad))
    finally:
        _state.paused.pop()
    return grads, visited


def _accumulate(grads: dict[int, Any], node: Any, input_grads: Any) -> None:
    if len(input_grads) != len(node.parents):
        raise ValueError(
            f"{where(node.op, node.scope)}: the gradient function returned "
            f"{len(input_grads)} gradients for {len(node.parents)} inputs"
        )
    for parent, meta, grad in zip(node.parents, node.metas, input_grads):
        if parent is None or grad is None:
            continue
        grad = unbroadcast(grad, *meta)
        key = id(parent)
        previous = grads.get(key)
        grads[key] = grad if previous is None else previous + grad
