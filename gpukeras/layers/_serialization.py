"""Layer configs in Keras 3's shape, and the registry that turns them back into layers.

Only classes registered here (plus the caller's ``custom_objects``) can be
built from a config: a config never names a module to import.
"""

from __future__ import annotations

from typing import Any

from gpukeras import _custom_objects
from gpukeras._custom_objects import custom_object_scope
from gpukeras.layers._activation import Activation
from gpukeras.layers._dense import Dense
from gpukeras.layers._dropout import Dropout
from gpukeras.layers._input import InputLayer
from gpukeras.layers._layer import Layer
from gpukeras.layers._reshaping import Flatten, Reshape

_REGISTRY: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (Activation, Dense, Dropout, Flatten, InputLayer, Reshape)
}
_ALIASES = {"Convolution2D": "Conv2D", "Convolution1D": "Conv1D"}


def register(cls: type[Layer]) -> type[Layer]:
    """Make a layer class buildable from configs by its class name (a decorator)."""
    _REGISTRY[cls.__name__] = cls
    return cls


def serialize(layer: Layer) -> dict[str, Any]:
    """``{'module', 'class_name', 'config', 'registered_name'}`` as Keras 3 writes it."""
    cls = type(layer)
    registered = _custom_objects.get_registered_name(cls)
    entry: dict[str, Any] = {  # a registered class is named as Keras names it: "package>name"
        "module": cls.__module__ if registered != cls.__name__ else "keras.layers",
        "class_name": cls.__name__,
        "config": layer.get_config(),
        "registered_name": registered if registered != cls.__name__ else None,
    }
    if layer.built and layer.input_shape is not None and not isinstance(layer, InputLayer):
        entry["build_config"] = {"input_shape": list(layer.input_shape)}
    return entry


def deserialize(entry: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
    """A new layer from a :func:`serialize` entry (classes from the registry only)."""
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ValueError(
            "A layer config must be a dict with 'class_name' and 'config'. "
            f"Received: {entry!r:.200}"
        )
    name = str(entry["class_name"])
    known = {**_REGISTRY, **_custom_objects.with_current(custom_objects)}
    registered = entry.get("registered_name")
    cls = known.get(registered) if isinstance(registered, str) else None
    cls = cls or known.get(name) or known.get(_ALIASES.get(name, ""))
    if cls is None:
        raise ValueError(
            f"Unknown layer class {name!r}: not a gpukeras layer and not in custom_objects. "
            f"Known: {', '.join(sorted(_REGISTRY))}. Received: class_name={name!r}"
        )
    config = dict(entry.get("config") or {})
    with custom_object_scope(custom_objects):
        layer = cls.from_config(config)
    build = entry.get("build_config") or {}
    if build.get("input_shape") is not None:
        layer.ensure_built(tuple(build["input_shape"]))
    return layer
