"""What a subclassed model holds, and how its ``call`` is run.

Keras 3 tracks layers as they are set on a model. gpukeras finds them when asked, by
walking the model's attributes in the order they were first set (and into lists, tuples
and dicts), so a layer appended to a list later is still found. The walk is cheap next to
a training step (a handful of attributes).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any


def _is_layer(value: Any) -> bool:
    return isinstance(value, _layer_class())


@functools.cache
def _layer_class() -> type:
    from gpukeras.layers import Layer  # imported late: layers import models

    return Layer


def layers_in(value: Any, seen_containers: set[int] | None = None) -> Iterator[Any]:
    """The layers in ``value``: itself, or the items of a (nested) list, tuple or dict."""
    if _is_layer(value):
        yield value
        return
    if not isinstance(value, (list, tuple, dict)):
        return
    seen = set() if seen_containers is None else seen_containers
    if id(value) in seen:
        return
    seen.add(id(value))
    for item in value.values() if isinstance(value, dict) else value:
        yield from layers_in(item, seen)


def tracked_layers(model: Any) -> list[Any]:
    """The layers held in ``model``'s attributes, first-set first, each once.

    A subclassed Model notes which attributes may hold layers as they are set (see
    :func:`note_attribute`), so a training step does not walk its other attributes;
    any other object's attributes are all looked at.
    """
    graph_layers = getattr(model, "_tracked_sublayers", None)
    if graph_layers is not None:  # a functional model: its graph's layers
        return graph_layers()
    noted = model.__dict__.get(_NOTED)
    names = vars(model) if noted is None else noted
    found: dict[int, Any] = {}
    for name in names:
        if name in _NOT_TRACKED or name not in model.__dict__:
            continue
        for layer in layers_in(model.__dict__[name]):
            if layer is not model:
                found.setdefault(id(layer), layer)
    return list(found.values())


def note_attribute(model: Any, name: str, value: Any) -> None:
    """Remember that attribute ``name`` of ``model`` holds a layer or a container (which
    may hold layers now or later), in the order attributes are first set."""
    if _is_layer(value) or isinstance(value, (list, tuple, dict)):
        model.__dict__.setdefault(_NOTED, {})[name] = None


_NOTED = "_layer_attributes"
# Attributes the training API sets on a model; none of them holds the model's own layers.
_NOT_TRACKED = frozenset(
    {
        "optimizer",
        "loss",
        "history",
        "_step",
        "_custom_state",
        "_metric_ids",
        "_weighted_metric_ids",
        "_compile_config",
        "_call_losses",
        _NOTED,
    }
)


def unique(variables: list[Any]) -> list[Any]:
    """``variables`` without repeats (a layer shared by two attributes), first kept."""
    seen: set[int] = set()
    kept = []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            kept.append(variable)
    return kept


def all_layers(model: Any) -> list[Any]:
    """``model`` and every layer below it, each once: the layers its attributes hold and,
    for layers written with ``call()`` and for models, theirs in turn (a built-in layer's
    inner layers are its own business). A ``Sequential`` below the model stands for its
    layers. These are the layers whose ``add_loss`` losses and weight penalties count in
    the model's loss, and whose losses are cleared before each step."""
    from gpukeras.layers._call import uses_call
    from gpukeras.models._sequential import Sequential

    found: dict[int, Any] = {id(model): model}
    pending = [model]
    while pending:
        owner = pending.pop(0)
        if owner is not model and not (uses_call(owner) or isinstance(owner, Sequential)):
            continue
        for layer in tracked_layers(owner):
            if id(layer) not in found:
                found[id(layer)] = layer
                pending.append(layer)
    return [layer for layer in found.values() if not isinstance(layer, Sequential)]
