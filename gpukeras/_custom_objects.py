"""The caller's own objects by name while a model is being rebuilt from a config.

Loading never imports or runs code named in a file: a function a config names (a
``Lambda`` layer's) is looked up here, among the objects the caller passed as
``custom_objects``, and nowhere else.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_active = threading.local()


def current() -> dict[str, Any]:
    """The objects of every enclosing :func:`custom_object_scope`, inner ones winning."""
    merged: dict[str, Any] = {}
    for objects in getattr(_active, "stack", []):
        merged.update(objects)
    return merged


@contextlib.contextmanager
def custom_object_scope(*scopes: dict[str, Any] | None) -> Iterator[None]:
    """Make ``{name: object}`` dicts visible to configs rebuilt inside the block
    (Keras's ``keras.saving.custom_object_scope``)."""
    objects: dict[str, Any] = {}
    for scope in scopes:
        if scope is None:
            continue
        if not isinstance(scope, dict):
            raise TypeError(
                f"custom_object_scope takes dicts of name -> object. Received: {scope!r:.100}"
            )
        objects.update(scope)
    stack = getattr(_active, "stack", None)
    if stack is None:
        stack = _active.stack = []
    stack.append(objects)
    try:
        yield
    finally:
        stack.pop()
