"""Keras's HDF5 layouts: legacy full model, legacy weights, Keras 3 weights.

Layouts (see ../shared/keras-behaviour.md, "File formats"):
- legacy full model (``.h5``/``.hdf5``): root attrs ``keras_version``,
  ``backend``, ``model_config`` (JSON), ``training_config`` (JSON, when
  compiled), a ``model_weights`` group holding the legacy weights layout and
  an ``optimizer_weights`` group (attr ``weight_names``, one dataset per
  optimizer variable, in the optimizer's ``variables`` order);
- legacy weights (``.h5``/``.hdf5``): root attrs ``layer_names``, ``backend``,
  ``keras_version``; one group per layer with attr ``weight_names`` and one
  dataset per weight at that name's path;
- Keras 3 weights (``.weights.h5``, also inside ``.keras``; optimizer state in
  ``_optimizer_state``):
  ``layers/<snake_case_class>[_N]/vars/<i>``, ``optimizer/vars/<i>``, ``vars``; a
  LossScaleOptimizer adds ``optimizer/inner_optimizer/vars/<i>`` (the wrapped optimizer).

Loading pairs each model variable with a dataset (legacy: by order of layers
with weights, or by layer name; Keras 3: by class-derived keys), checks every
declared shape and size, reads, and only then assigns: a failed load leaves
the model unchanged. Device arrays come to the host (``Variable.numpy()``)
before writing; loaded values go to the active backend through
``Variable.assign``.
"""

from __future__ import annotations

import warnings
from typing import Any

import h5py

import gpukeras
from gpukeras import backend as K
from gpukeras._naming import to_snake_case
from gpukeras.saving import _h5safe as safe
from gpukeras.saving import _subclassed
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._h5safe import Budget, unique_names, write_string_list
from gpukeras.saving._model_layers import is_graph_model, keras3_keys, legacy_weights, saved_layers
from gpukeras.saving._optimizer_state import (
    built_optimizer,
    write_keras3_optimizer,
    write_optimizer_weights,
)

# The Keras version whose file layout these files follow. Readers treat a
# missing version (or "1") as Keras 1 and convert weights, so one must be set.
KERAS_VERSION = "3.15.1"
_Pair = tuple[Any, Any]  # a model variable and the dataset holding its value


# -- which layers are saved ------------------------------------------------------
def require_built(model: Any, action: str) -> None:
    if not getattr(model, "built", True) or any(
        not getattr(layer, "built", True) for layer in saved_layers(model)
    ):
        raise ValueError(
            f"You are trying to {action} a model that has not yet been built. Build it "
            "first by calling it on some data, by giving the first layer an input shape, "
            "or by fitting it."
        )


# -- writing ------------------------------------------------------------------------
def _backend_attrs(group: h5py.Group) -> None:
    group.attrs["backend"] = K.backend().encode("utf8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")


def write_legacy_weights(group: h5py.Group, model: Any) -> None:
    """The legacy layout: ``layer_names`` attr, one group per layer with ``weight_names``."""
    layers = saved_layers(model)
    write_string_list(group, "layer_names", [layer.name for layer in layers])
    _backend_attrs(group)
    # Keras creates the groups in name order (avoids prefix clashes in HDF5).
    for layer in sorted(layers, key=lambda item: item.name):
        layer_group = group.create_group(layer.name)
        variables = legacy_weights(layer)
        names = unique_names([f"{variable.path}:0" for variable in variables])
        write_string_list(layer_group, "weight_names", names)
        for name, variable in zip(names, variables, strict=True):
            layer_group.create_dataset(name, data=variable.numpy())


def write_keras3_weights(file: h5py.File, model: Any) -> None:
    """The Keras 3 layout: ``layers/<key>/vars/<i>``, ``optimizer/vars/<i>``, ``vars``
    (a subclassed model: groups named after its attributes, see ``_subclassed``)."""
    if _subclassed.is_subclassed(model):
        _subclassed.write(file, model)
    else:
        write_model_layers(file, model)
    optimizer = built_optimizer(model)
    if optimizer is not None:
        write_keras3_optimizer(file.create_group("optimizer"), optimizer)
    file.require_group("vars").attrs["name"] = getattr(model, "name", "sequential")


def write_model_layers(group: h5py.Group, model: Any) -> None:
    """``layers/<key>`` for each of the model's layers (Keras 3's keys)."""
    layers = saved_layers(model)
    layers_group = group.create_group("layers")
    for key, layer in zip(keras3_keys(layers), layers, strict=True):
        write_keras3_layer(layers_group.create_group(key), layer)


# Where Keras 3 keeps a layer's own variables, relative to the layer's group, when not in
# "vars": its recurrent layers hold them in a cell. A layer class may say so itself with a
# ``keras3_variables_group`` attribute.
_KERAS3_VARIABLE_GROUPS = {"LSTM": "cell/vars", "GRU": "cell/vars", "SimpleRNN": "cell/vars"}


def _sublayers(layer: Any) -> list[tuple[str, Any]]:
    """Layers held in public attributes (wrappers' inner layers): Keras saves each in a
    subgroup named after the attribute (``forward_layer``, ``layer``...); a list of layers
    (StackedRNNCells' ``cells``) at ``<attribute>/<snake_case class>``, ``..._1``, ..."""
    from gpukeras.layers import Layer

    found = []
    for name, value in vars(layer).items():
        if name.startswith("_"):
            continue
        if isinstance(value, Layer) and value.weights:
            found.append((name, value))
        elif (
            isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value)
        ):
            used: dict[str, int] = {}
            for item in value:
                key = _subclassed._unique(to_snake_case(type(item).__name__), used)
                if item.weights:
                    found.append((f"{name}/{key}", item))
    return found


def _own_variables(layer: Any, sublayers: list[tuple[str, Any]]) -> list[Any]:
    inner = {id(variable) for _, sub in sublayers for variable in sub.weights}
    return [variable for variable in layer.weights if id(variable) not in inner]


def _own_group_path(layer: Any) -> str:
    declared = getattr(layer, "keras3_variables_group", None)
    return declared or _KERAS3_VARIABLE_GROUPS.get(type(layer).__name__, "vars")


def write_keras3_layer(group: h5py.Group, layer: Any) -> None:
    """One layer in Keras 3's layout: own variables, then one subgroup per inner layer (a
    model used as a layer: its layers under ``layers/``, see ``_model_layers``)."""
    if _subclassed.is_subclassed(layer):
        _subclassed.write(group, layer)
        return
    if is_graph_model(layer):
        write_model_layers(group, layer)
        group.require_group("vars").attrs["name"] = layer.name
        return
    sublayers = _sublayers(layer)
    group.create_group("vars").attrs["name"] = layer.name
    own_group = group.require_group(_own_group_path(layer))
    own_group.attrs["name"] = layer.name
    for index, variable in enumerate(_own_variables(layer, sublayers)):
        own_group.create_dataset(str(index), data=variable.numpy())
    for name, sub in sublayers:
        write_keras3_layer(group.create_group(name), sub)


def write_legacy_model(file: h5py.File, model: Any) -> None:
    """The legacy full-model layout (what Keras's ``save('m.h5')`` writes)."""
    from gpukeras.saving import _compile_config, _config_write

    file.attrs["keras_version"] = KERAS_VERSION
    file.attrs["gpukeras_version"] = gpukeras.__version__
    file.attrs["backend"] = K.backend()
    file.attrs["model_config"] = _json_bytes(_config_write.legacy_model_config(model))
    training_config = _compile_config.training_config(model)
    if training_config is not None:
        file.attrs["training_config"] = _json_bytes(training_config)
    write_legacy_weights(file.create_group("model_weights"), model)
    write_optimizer_weights(file, model)


def _json_bytes(value: Any) -> bytes:
    import json

    return json.dumps(value, default=json_default).encode("utf8")


def json_default(value: Any) -> Any:
    """JSON for the NumPy scalars, arrays and dtypes that may sit in a config."""
    import numpy

    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray):
        return value.tolist()
    if isinstance(value, numpy.dtype):
        return value.name
    if callable(getattr(value, "get_config", None)):
        return {"class_name": type(value).__name__, "config": value.get_config()}
    raise TypeError(f"Cannot save {value!r} ({type(value).__name__}) in a JSON config")


# -- planning what to read -------------------------------------------------------------
def find_weights(file: h5py.File, label: str) -> tuple[str, h5py.Group]:
    """Which layout ``file`` holds: ``('legacy', group)`` or ``('keras3', file)``."""
    if safe.has_string_list(file, "layer_names"):
        return "legacy", file
    if safe.has_entry(file, "model_weights"):
        return "legacy", safe.safe_group(file, "model_weights")
    # A subclassed model's file may have no 'layers' group (every layer sits under the
    # attribute holding it); Keras 3 always writes the model's own 'vars' group.
    if safe.has_entry(file, "layers") or safe.has_entry(file, "vars"):
        return "keras3", file
    raise FileFormatError(
        "The file holds no Keras weights (expected a 'layer_names' attribute, a "
        f"'model_weights' group or a 'layers' or 'vars' group). Received: filepath={label}"
    )


def keras3_plan(
    file: h5py.Group, model: Any, budget: Budget, skip_mismatch: bool, label: str
) -> list[_Pair]:
    """Pair each model weight with its ``layers/<key>/...vars/<i>`` dataset (Keras 3 keys;
    a subclassed model's keys follow its attributes, see ``_subclassed``)."""
    if _subclassed.is_subclassed(model):
        return _subclassed.plan(file, model, budget, label, skip_mismatch)
    layers = saved_layers(model)
    keys = keras3_keys(layers)
    layers_group = safe.safe_group(file, "layers")
    unexpected = [
        key
        for key in layers_group
        if key not in keys and safe.holds_datasets(safe.safe_group(layers_group, key), label)
    ]
    if unexpected:
        raise FileFormatError(
            f"The weights file {label} holds weights for layers the model does not have: "
            f"{sorted(unexpected)}. Model layers: {keys}"
        )
    plan = []
    for index, (key, layer) in enumerate(zip(keys, layers, strict=True)):
        variables = list(layer.weights)
        if not variables:
            continue
        where = f"Layer #{index} '{layer.name}' (group 'layers/{key}' in {label})"
        if not safe.has_entry(layers_group, key):
            raise FileFormatError(
                f"Layer #{index} '{layer.name}' expects {len(variables)} weight(s) "
                f"{[tuple(v.shape) for v in variables]}, but {label} has no group "
                f"'layers/{key}/vars'."
            )
        found = keras3_layer_datasets(safe.safe_group(layers_group, key), layer, budget, where)
        datasets = [found[id(variable)] for variable in variables]
        plan.extend(checked_pairs(index, layer, datasets, skip_mismatch))
    return plan


def keras3_layer_datasets(
    group: h5py.Group, layer: Any, budget: Budget, where: str
) -> dict[int, h5py.Dataset]:
    """``id(variable) -> dataset`` for a layer and, recursively, its inner layers (a
    model used as a layer: its layers under ``layers/``)."""
    if _subclassed.is_subclassed(layer):
        pairs = _subclassed.plan(group, layer, budget, where, skip_mismatch=False)
        return {id(variable): dataset for variable, dataset in pairs}
    if is_graph_model(layer):
        return _model_datasets(group, layer, budget, where)
    sublayers = _sublayers(layer)
    own = _own_variables(layer, sublayers)
    found: dict[int, h5py.Dataset] = {}
    if own:
        variables_group = _own_variables_group(group, layer, where, own)
        if len(variables_group) != len(own):
            raise FileFormatError(
                f"{where} expected {len(own)} variables {[tuple(v.shape) for v in own]}, "
                f"but received {len(variables_group)} variables during loading."
            )
        for index, variable in enumerate(own):
            found[id(variable)] = safe.safe_dataset(variables_group, str(index), budget)
    for name, sub in sublayers:
        inner = group
        for part in name.split("/"):  # "cells/gru_cell" for a list of layers
            if not safe.has_entry(inner, part):
                raise FileFormatError(f"{where}: no group {name!r} for inner layer '{sub.name}'.")
            inner = safe.safe_group(inner, part)
        found.update(keras3_layer_datasets(inner, sub, budget, where))
    return found


def _model_datasets(group: h5py.Group, model: Any, budget: Budget, where: str) -> dict:
    """``id(variable) -> dataset`` for a Sequential or functional model used as a layer."""
    layers = saved_layers(model)
    found: dict[int, h5py.Dataset] = {}
    for key, layer in zip(keras3_keys(layers), layers, strict=True):
        if not layer.weights:
            continue
        inner = f"{where}, layer '{layer.name}' (group 'layers/{key}')"
        layers_group = safe.safe_group(group, "layers") if safe.has_entry(group, "layers") else None
        if layers_group is None or not safe.has_entry(layers_group, key):
            raise FileFormatError(
                f"{inner} expects {len(layer.weights)} weight(s), but there is no such group."
            )
        layer_group = safe.safe_group(layers_group, key)
        found.update(keras3_layer_datasets(layer_group, layer, budget, inner))
    return found


def _own_variables_group(group: h5py.Group, layer: Any, where: str, own: list) -> h5py.Group:
    """The layer's variables group: where Keras puts them for this class, else ``vars``."""
    present = []
    for path in dict.fromkeys((_own_group_path(layer), "vars")):
        parts = path.split("/")
        current = group
        for part in parts:
            if not (isinstance(current, h5py.Group) and safe.has_entry(current, part)):
                break
            current = safe.safe_group(current, part)
        else:
            if len(current):
                return current
            present.append(current)
    if present:
        return present[0]
    raise FileFormatError(
        f"{where} expected {len(own)} variables {[tuple(v.shape) for v in own]}, but the "
        f"file has no group '{_own_group_path(layer)}' for them."
    )


def checked_pairs(
    index: int, layer: Any, datasets: list[Any], skip_mismatch: bool, legacy: bool = False
) -> list[_Pair]:
    """``(variable, dataset)`` pairs of one layer after checking every shape.

    A mismatch raises, or with ``skip_mismatch`` warns and leaves the layer as is.
    """
    variables = legacy_weights(layer) if legacy else list(layer.weights)
    for variable, dataset in zip(variables, datasets, strict=True):
        expected = tuple(variable.shape)
        received = tuple(dataset.shape)
        if expected == received:
            continue
        message = (
            f"Shape mismatch in layer #{index} (named {layer.name}) for weight "
            f"{variable.path}. Weight expects shape {expected}. Received saved weight "
            f"with shape {received}"
        )
        if not skip_mismatch:
            raise FileFormatError(message)
        warnings.warn(f"Skipping loading weights for layer #{index}: {message}", stacklevel=5)
        return []
    return list(zip(variables, datasets, strict=True))


def read_plan(plan: list[_Pair], budget: Budget) -> list[tuple[Any, Any]]:
    """Host arrays for a checked plan (their total size checked before reading)."""
    budget.check_total(sum(dataset.size * dataset.dtype.itemsize for _, dataset in plan))
    return [(target, safe.read_dataset(dataset)) for target, dataset in plan]


def assign_all(values: list[tuple[Any, Any]]) -> None:
    for variable, value in values:
        variable.assign(value)
