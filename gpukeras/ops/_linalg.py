"""Products: matmul, dot, tensordot and einsum (forward, then VJP)."""

from __future__ import annotations

import string
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.ops import _shapes
from gpukeras.ops._registry import defcomposite, defop, run, to_array


def _matmul_vjp(xp, g, y, a, b):
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a.ndim == 1 and b.ndim == 1:
        g2 = g.reshape(1, 1)
    elif a.ndim == 1:
        g2 = xp.expand_dims(g, -2)
    elif b.ndim == 1:
        g2 = xp.expand_dims(g, -1)
    else:
        g2 = g
    ga = xp.matmul(g2, xp.swapaxes(b2, -1, -2))
    gb = xp.matmul(xp.swapaxes(a2, -1, -2), g2)
    if a.ndim == 1:
        ga = ga[..., 0, :]
    if b.ndim == 1:
        gb = gb[..., :, 0]
    return ga, gb


defop("matmul", lambda xp, a, b: xp.matmul(a, b), _matmul_vjp, _shapes.matmul, promote=True)


def matmul(x1: Any, x2: Any) -> Any:
    """Matrix product with NumPy's rules (batch axes broadcast; 1-d operands allowed)."""
    return run("matmul", x1, x2)


def dot(x1: Any, x2: Any) -> Any:
    """NumPy's ``dot``: a product over the last axis of ``x1`` and the second-to-last of ``x2``."""
    a_ndim, b_ndim = _ndim(x1), _ndim(x2)
    if a_ndim == 0 or b_ndim == 0:
        from gpukeras.ops._elementwise import multiply

        return multiply(x1, x2)
    if b_ndim <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([a_ndim - 1], [b_ndim - 2]))


def _ndim(x: Any) -> int:
    return 0 if isinstance(x, (bool, int, float)) else to_array(x, K.array_module()).ndim


def outer(x1: Any, x2: Any) -> Any:
    """Every product ``x1[i] * x2[j]`` of the flattened inputs."""
    from gpukeras.ops._elementwise import multiply
    from gpukeras.ops._shape_ops import reshape

    return multiply(reshape(x1, (-1, 1)), reshape(x2, (1, -1)))


def _tensordot_axes(axes: Any, a_ndim: int, b_ndim: int) -> tuple[list[int], list[int]]:
    if isinstance(axes, int):
        return list(range(a_ndim - axes, a_ndim)), list(range(axes))
    a_axes, b_axes = axes
    a_axes = [a_axes] if isinstance(a_axes, int) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, int) else list(b_axes)
    return [x % a_ndim for x in a_axes], [x % b_ndim for x in b_axes]


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> Any:
    """Sum of products over ``axes`` (an int, or a pair of axis lists), as NumPy's."""
    from gpukeras.ops._shape_ops import reshape, transpose

    xp = K.array_module()
    a_shape, b_shape = to_array(x1, xp).shape, to_array(x2, xp).shape
    a_axes, b_axes = _tensordot_axes(axes, len(a_shape), len(b_shape))
    a_free = [i for i in range(len(a_shape)) if i not in a_axes]
    b_free = [i for i in range(len(b_shape)) if i not in b_axes]
    inner = int(numpy.prod([a_shape[i] for i in a_axes]))
    if inner != int(numpy.prod([b_shape[i] for i in b_axes])):
        raise ValueError(
            f"tensordot: the contracted sizes differ. Received: x1 shape {a_shape}, "
            f"x2 shape {b_shape}, axes={axes!r}"
        )
    a2 = reshape(transpose(x1, a_free + a_axes), (-1, inner))
    b2 = reshape(transpose(x2, b_axes + b_free), (inner, -1))
    out_shape = tuple(a_shape[i] for i in a_free) + tuple(b_shape[i] for i in b_free)
    return reshape(matmul(a2, b2), out_shape)


def _parse_einsum(subscripts: str, ndims: list[int]) -> tuple[list[str], str]:
    """Explicit per-operand letters and output letters, with ``...`` spelled out."""
    spec = subscripts.replace(" ", "")
    inputs, _, output = spec.partition("->")
    terms = inputs.split(",")
    spare = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in spec]
    widest = max(
        (n - len(t.replace("...", "")) for t, n in zip(terms, ndims) if "..." in t), default=0
    )
    ellipsis = "".join(spare[:widest])
    expanded = []
    for term, n in zip(terms, ndims):
        if "..." in term:
            k = n - len(term.replace("...", ""))
            term = term.replace("...", ellipsis[widest - k :] if k else "")
        expanded.append(term)
    if "->" not in spec:
        letters = "".join(expanded)
        output = ellipsis + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis)
        )
    else:
        output = output.replace("...", ellipsis)
    return expanded, output


def _einsum_vjp(xp, g, y, *operands, subscripts):
    terms, output = _parse_einsum(subscripts, [o.ndim for o in operands])
    grads = []
    for i, (term, x) in enumerate(zip(terms, operands)):
        others = [t for j, t in enumerate(terms) if j != i]
        known = set(output).union(*others) if others else set(output)
        kept = "".join(c for c in term if c in known)
        if len(set(term)) != len(term):
            raise ValueError(f"einsum: no gradient for repeated indices in {term!r}")
        spec = ",".join([output, *others]) + "->" + kept
        grad = xp.einsum(spec, g, *[o for j, o in enumerate(operands) if j != i])
        if kept != term:  # letters only this operand had were summed: broadcast back
            shape = [x.shape[term.index(c)] if c in kept else 1 for c in term]
            order = [kept.index(c) for c in term if c in kept]
            grad = xp.broadcast_to(xp.transpose(grad, order).reshape(shape), x.shape)
        grads.append(grad)
    return tuple(grads)


defop(
    "einsum",
    lambda xp, *ops, subscripts: xp.einsum(subscripts, *ops),
    _einsum_vjp,
    _shapes.evaluated(lambda xp, *ops, subscripts: xp.einsum(subscripts, *ops)),
    promote=True,
)


def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> Any:
    """Einstein summation over ``operands`` (NumPy's subscripts, ``...`` included)."""
    return run("einsum", *operands, subscripts=subscripts)


defcomposite("dot", _shapes.evaluated(lambda xp, a, b: xp.dot(a, b)))
defcomposite("tensordot", _shapes.evaluated(lambda xp, a, b, axes=2: xp.tensordot(a, b, axes)))
defcomposite("outer", lambda a, b: (int(numpy.prod(a)), int(numpy.prod(b))))
