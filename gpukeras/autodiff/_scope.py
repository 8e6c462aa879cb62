"""Naming the code that runs: the innermost layer scope goes into every tape error.

``scope(name)`` is entered by ``Layer.__call__`` around a user's ``call()`` so that an
error raised by an op (or by its gradient, long after the forward returned) can say
which layer and which op: ``layer 'my_layer', op 'matmul': ...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_names: list[str] = []


@contextmanager
def scope(name: str) -> Iterator[None]:
    """Name the current layer (or any block) for errors raised by ops inside it."""
    _names.append(str(name))
    try:
        yield
    finally:
        _names.pop()


def current_scope() -> str | None:
    """The innermost scope's name, or ``None`` outside every scope."""
    return _names[-1] if _names else None


def where(op: str, scope_name: str | None = None) -> str:
    """``"layer 'dense', op 'matmul'"``: the prefix of every op error."""
    scope_name = current_scope() if scope_name is None else scope_name
    if scope_name is None:
        return f"op {op!r}"
    return f"layer {scope_name!r}, op {op!r}"
