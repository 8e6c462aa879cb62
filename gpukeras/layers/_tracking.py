"""Sublayers of a Keras 3 style layer: layers kept in its attributes, and their weights.

Only layers that define ``call()`` track sublayers: built-in wrappers (Bidirectional,
TimeDistributed) list their inner layers' weights themselves, in their own order.
"""

from __future__ import annotations

from typing import Any

from gpukeras.layers._call import uses_call


def sublayers(layer: Any) -> list[Any]:
    """Layers held in ``layer``'s attributes (and lists/tuples/dicts of them), recursively,
    in attribute order, each once; empty unless ``layer`` defines ``call()``."""
    found: list[Any] = []
    seen = {id(layer)}
    pending = direct_sublayers(layer)
    while pending:
        child = pending.pop(0)
        if id(child) in seen:
            continue
        seen.add(id(child))
        if _is_model(child):  # a Sequential held by a layer: its layers are sublayers
            pending.extend(list(getattr(child, "layers", [])))
            continue
        found.append(child)
        pending.extend(direct_sublayers(child))
    return found


def _is_model(value: Any) -> bool:
    from gpukeras.models._model import Model

    return isinstance(value, Model)


def direct_sublayers(layer: Any) -> list[Any]:
    """The layers (and models) ``layer`` holds itself, not their own sublayers."""
    if not uses_call(layer):  # every built-in layer: asked on each weights lookup
        return []
    graph_layers = getattr(layer, "_tracked_sublayers", None)
    if graph_layers is not None:  # a functional model: its graph's layers
        return graph_layers()
    return held_layers(layer)


def held_layers(layer: Any) -> list[Any]:
    """The layers (and models) in ``layer``'s attributes and their lists, tuples and dicts."""
    from gpukeras.layers._layer import Layer

    found: list[Any] = []
    seen = {id(layer)}
    for value in list(vars(layer).values()):
        items = value if isinstance(value, (list, tuple)) else [value]
        if isinstance(value, dict):
            items = list(value.values())
        for item in items:
            if (isinstance(item, Layer) or _is_model(item)) and id(item) not in seen:
                seen.add(id(item))
                found.append(item)
    return found


def with_sublayer_weights(layer: Any, own: list[Any], attribute: str) -> list[Any]:
    """``own`` followed by each direct sublayer's ``attribute`` (Keras 3's order), each
    variable once."""
    children = direct_sublayers(layer)
    if not children:
        return own
    result = list(own)
    seen = {id(v) for v in result}
    for child in children:
        for variable in getattr(child, attribute):
            if id(variable) not in seen:
                seen.add(id(variable))
                result.append(variable)
    return result


def set_trainable(layer: Any, value: bool) -> None:
    """Keras 3's ``Layer.trainable`` setter: the layer and, recursively, every layer it holds
    (a Sequential's layers, a wrapper's inner layer, a subclassed model's attributes), so a
    frozen base reports its layers frozen and costs no weight-gradient work."""
    layer.__dict__["_trainable"] = bool(value)
    if id(layer) in _SETTING_TRAINABLE:  # a layer holding its holder: no endless loop
        return
    _SETTING_TRAINABLE.add(id(layer))
    try:
        for child in held_layers(layer):
            child.trainable = value
    finally:
        _SETTING_TRAINABLE.discard(id(layer))


_SETTING_TRAINABLE: set[int] = set()  # the layers whose trainable setter is running
