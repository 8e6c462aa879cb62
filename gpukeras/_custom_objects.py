"""The caller's own objects by name while a model is being rebuilt from a config.

Loading never imports or runs code named in a file: a class or function a config
names (a custom layer, a ``Lambda`` layer's function) is looked up here and nowhere
else: among the objects registered with :func:`register_keras_serializable` (or put
in :func:`get_custom_objects`), those of enclosing :func:`custom_object_scope` blocks,
and those the caller passes as ``custom_objects``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

_active = threading.local()
# Keras's GLOBAL_CUSTOM_OBJECTS: "package>name" (or any name a user puts in) -> object.
_REGISTERED: dict[str, Any] = {}
_REGISTERED_NAMES: dict[Any, str] = {}


def current() -> dict[str, Any]:
    """The registered objects, then those of every enclosing :func:`custom_object_scope`
    (inner scopes win)."""
    merged: dict[str, Any] = dict(_REGISTERED)
    for objects in getattr(_active, "stack", []):
        merged.update(objects)
    return merged


def with_current(custom_objects: dict[str, Any] | None) -> dict[str, Any]:
    """:func:`current` objects, overridden by the ``custom_objects`` a caller passed."""
    return {**current(), **(custom_objects or {})}


def get_custom_objects() -> dict[str, Any]:
    """The registry itself (Keras's ``keras.saving.get_custom_objects()``): a dict you may
    add to (``get_custom_objects()["MyLayer"] = MyLayer``) or clear."""
    return _REGISTERED


def register_keras_serializable(
    package: str = "Custom", name: str | None = None
) -> Callable[[Any], Any]:
    """Register a class or function under ``'package>name'`` (a decorator).

    Configs then name it so (``registered_name``), and loading finds it without
    ``custom_objects``.

    Args:
        package: The prefix; default ``'Custom'``.
        name: The name after ``>``; default the object's ``__name__``.
    """
    for argument, value in (("package", package), ("name", name)):
        if value is not None and (not isinstance(value, str) or not value):
            raise TypeError(
                f"register_keras_serializable needs a non-empty string {argument}. "
                f"Received: {argument}={value!r:.100}"
            )

    def register(obj: Any) -> Any:
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(
                "Cannot register a class that does not have a get_config() method. "
                f"Received: {obj.__name__}"
            )
        object_name = name if name is not None else getattr(obj, "__name__", None)
        if not isinstance(object_name, str):
            raise TypeError(
                "register_keras_serializable registers classes and functions (objects "
                f"with a __name__), or pass name=. Received: {obj!r:.100}"
            )
        registered = f"{package}>{object_name}"
        _REGISTERED[registered] = obj
        _REGISTERED_NAMES[obj] = registered
        return obj

    return register


def get_registered_name(obj: Any) -> str:
    """``'package>name'`` for a registered object, else its ``__name__``."""
    with contextlib.suppress(TypeError):  # unhashable objects are never registered
        if obj in _REGISTERED_NAMES:
            return _REGISTERED_NAMES[obj]
    return obj.__name__


def get_registered_object(
    name: str,
    custom_objects: dict[str, Any] | None = None,
    module_objects: dict[str, Any] | None = None,
) -> Any:
    """The object registered, in scope, or in the given dicts under ``name``; else None."""
    for objects in (current(), custom_objects, module_objects):
        if objects and name in objects:
            return objects[name]
    return None


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
