"""What a subclassed model holds, and how its ``call`` is run.

Keras 3 tracks layers as they are set on a model. gpukeras finds them when asked, by
walking the model's attributes in the order they were first set (and into lists, tuples
and dicts), so a layer appended to a list later is still found. The walk is cheap next to
a training step (a handful of attributes).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import numpy

from gpukeras import backend as K


def _is_layer(value: Any) -> bool:
    from gpukeras.layers import Layer

    return isinstance(value, Layer)


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
    """The layers held in ``model``'s attributes, first-set first, each once."""
    found: dict[int, Any] = {}
    for name, value in vars(model).items():
        if name in _NOT_TRACKED:
            continue
        for layer in layers_in(value):
            if layer is not model:
                found.setdefault(id(layer), layer)
    return list(found.values())


# Attributes the training API sets on a model; none of them holds the model's own layers.
_NOT_TRACKED = frozenset({"optimizer", "loss", "history", "_step", "_custom_state"})


def unique(variables: list[Any]) -> list[Any]:
    """``variables`` without repeats (a layer shared by two attributes), first kept."""
    seen: set[int] = set()
    kept = []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            kept.append(variable)
    return kept


# -- calling -----------------------------------------------------------------------------
def to_device_inputs(inputs: Any) -> Any:
    """Host data (NumPy arrays, lists, numbers) on the device; traced values left as they are."""
    if isinstance(inputs, (numpy.ndarray, numpy.generic, float, int)):
        return K.to_device(inputs)
    if isinstance(inputs, list) and not any(hasattr(item, "shape") for item in inputs):
        return K.to_device(numpy.asarray(inputs))
    if isinstance(inputs, (list, tuple)):
        return type(inputs)(to_device_inputs(item) for item in inputs)
    if isinstance(inputs, dict):
        return {key: to_device_inputs(item) for key, item in inputs.items()}
    return inputs


def first_shape(inputs: Any) -> tuple[Any, ...]:
    """The shape of ``inputs`` (its first array when it is a list, tuple or dict)."""
    while isinstance(inputs, (list, tuple, dict)) and inputs:
        inputs = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs[0]
    shape = getattr(inputs, "shape", None)
    if shape is None:
        raise TypeError(
            "A model's inputs must be arrays (or lists, tuples or dicts of arrays). "
            f"Received: inputs of type {type(inputs).__name__}"
        )
    return tuple(shape)


def run_call(model: Any, inputs: Any, training: Any, mask: Any, kwargs: dict[str, Any]) -> Any:
    """``model.call(inputs, ...)``, passing ``training``/``mask`` only if ``call`` takes them,
    under the model's name so that errors in the tape name it."""
    from gpukeras import autodiff

    accepted = _call_arguments(type(model))
    if "training" in accepted:
        kwargs["training"] = training
    if mask is not None and "mask" in accepted:
        kwargs["mask"] = mask
    with autodiff.scope(model.name):
        return model.call(inputs, **kwargs)


_CALL_ARGUMENTS: dict[type, frozenset[str]] = {}


def _call_arguments(cls: type) -> frozenset[str]:
    found = _CALL_ARGUMENTS.get(cls)
    if found is None:
        parameters = inspect.signature(cls.call).parameters
        found = _CALL_ARGUMENTS[cls] = frozenset(parameters)
    return found
