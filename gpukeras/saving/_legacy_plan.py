"""Reading Keras's legacy weights layout (``layer_names``, one group per layer with
``weight_names``): saved layers paired with the model's layers that have weights, by
order or (``by_name=True``) by name, every count and shape checked before anything is read.
"""

from __future__ import annotations

import warnings
from typing import Any

import h5py

from gpukeras.saving import _h5safe as safe
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._h5safe import Budget, read_string_list
from gpukeras.saving._hdf5 import checked_pairs
from gpukeras.saving._model_layers import saved_layers

_Pair = tuple[Any, Any]


def _layers_with_weights(model: Any) -> list[Any]:
    return [layer for layer in saved_layers(model) if layer.weights]


def _saved_legacy_layers(group: h5py.Group) -> list[tuple[str, h5py.Group, list[str]]]:
    saved = []
    for name in read_string_list(group, "layer_names"):
        layer_group = safe.safe_group(group, name)
        weight_names = read_string_list(layer_group, "weight_names")
        saved.append((name, layer_group, weight_names))
    return saved


def legacy_plan(
    group: h5py.Group, model: Any, budget: Budget, skip_mismatch: bool, by_name: bool = False
) -> list[_Pair]:
    """Pair model weights with legacy datasets: by order of layers with weights, or by name."""
    saved = _saved_legacy_layers(group)
    if by_name:
        return _legacy_plan_by_name(saved, model, budget, skip_mismatch)
    saved = [entry for entry in saved if entry[2]]
    layers = _layers_with_weights(model)
    if len(saved) != len(layers):
        raise FileFormatError(
            "Layer count mismatch when loading weights from file. Model expected "
            f"{len(layers)} layers with weights ({[layer.name for layer in layers]}), "
            f"found {len(saved)} saved layers ({[entry[0] for entry in saved]})."
        )
    plan = []
    for index, (layer, entry) in enumerate(zip(layers, saved, strict=True)):
        name, layer_group, weight_names = entry
        _check_count(index, layer, name, len(weight_names))
        datasets = [safe.safe_dataset(layer_group, w, budget) for w in weight_names]
        plan.extend(checked_pairs(index, layer, datasets, skip_mismatch, legacy=True))
    return plan


def _legacy_plan_by_name(
    saved: list[tuple[str, h5py.Group, list[str]]], model: Any, budget: Budget, skip: bool
) -> list[_Pair]:
    """Keras's ``by_name=True``: saved layers go to model layers of the same name."""
    by_name = {layer.name: layer for layer in saved_layers(model)}
    plan = []
    for index, (name, layer_group, weight_names) in enumerate(saved):
        layer = by_name.get(name)
        if layer is None:
            continue
        if len(weight_names) != len(layer.weights):
            if not skip:
                _check_count(index, layer, name, len(weight_names))
            warnings.warn(
                f"Skipping loading of weights for layer #{index} (named {name}) due to "
                f"mismatch in number of weights. Layer expects {len(layer.weights)} "
                f"weight(s). Received {len(weight_names)} saved weight(s)",
                stacklevel=4,
            )
            continue
        datasets = [safe.safe_dataset(layer_group, w, budget) for w in weight_names]
        plan.extend(checked_pairs(index, layer, datasets, skip, legacy=True))
    return plan


def _check_count(index: int, layer: Any, saved_name: str, saved_count: int) -> None:
    expected = len(layer.weights)
    if saved_count != expected:
        raise FileFormatError(
            f"Weight count mismatch for layer #{index} (named {layer.name} in the current "
            f"model, {saved_name} in the save file). Layer expects {expected} weight(s) "
            f"{[tuple(v.shape) for v in layer.weights]}. Received {saved_count} saved weight(s)"
        )
