"""HDF5 files Keras reads and writes: legacy full model, legacy weights, Keras 3 weights.

Layouts (see /shared/keras-behaviour.md, "File formats"):
- legacy full model (``.h5``/``.hdf5``): root attrs ``keras_version``,
  ``backend``, ``model_config`` (JSON), ``training_config`` (JSON, when
  compiled) and a ``model_weights`` group holding the legacy weights layout;
- legacy weights (``.h5``/``.hdf5``): root attrs ``layer_names``, ``backend``,
  ``keras_version``; one group per layer with attr ``weight_names`` and one
  dataset per weight at that name's path;
- Keras 3 weights (``.weights.h5``): ``layers/<snake_case_class>[_N]/vars/<i>``.
Loading matches saved layers to the model's layers by order (legacy) or by
Keras 3's class-derived keys, checks every shape, and only then assigns, so a
failed load leaves the model unchanged. Links and external or virtual
datasets are refused (they let a file read other files).
"""

from __future__ import annotations

import builtins
import json
import os
import re
import warnings
from typing import Any

import h5py
import numpy

import gpukeras
from gpukeras import backend as K
from gpukeras.saving._atomic import atomic_write_path

# The Keras version whose file layout these files follow. Readers treat a
# missing version (or "1") as Keras 1 and convert weights, so one must be set.
KERAS_VERSION = "3.15.1"
# Attributes larger than this do not fit an HDF5 object header: split them.
_ATTRIBUTE_LIMIT = 64512
_NUMERIC_KINDS = "biuf"
_Pair = tuple[Any, h5py.Dataset]  # a model variable and the dataset holding its value


# -- public API ---------------------------------------------------------------
def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Save architecture, compile settings and weights to a legacy HDF5 file.

    Args:
        model: A built model with ``layers`` and ``get_config()``.
        filepath: Target ending in ``.h5`` or ``.hdf5``. (``.keras`` is not
            written yet: NotImplementedError.)
        overwrite: Replace an existing file without asking; default ``True``
            (``False`` asks on the terminal, like Keras).
    """
    path = os.fspath(filepath)
    if path.endswith(".keras"):
        raise NotImplementedError(
            "Saving the native Keras zip format ('.keras') is not implemented yet in "
            f"gpukeras. Received: filepath={path}. Use a '.h5' or '.hdf5' file name."
        )
    if not path.endswith((".h5", ".hdf5")):
        raise ValueError(
            "Invalid filepath extension for saving a model. Expected a '.h5' or '.hdf5' "
            f"file name. Received: filepath={path}"
        )
    _require_built(model, "save")
    if not overwrite and os.path.isfile(path) and not _ask_to_overwrite(path):
        return
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    metadata = _model_metadata(model)
    with atomic_write_path(path) as temporary, h5py.File(temporary, "w") as file:
        for key, value in metadata.items():
            file.attrs[key] = value
        _write_legacy_weights(file.create_group("model_weights"), model)


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Save the model's weights.

    Args:
        model: A built model with ``layers``.
        filepath: ``*.weights.h5`` (Keras 3 layout) or ``*.h5``/``*.hdf5``
            (legacy layout).
        overwrite: Replace an existing file without asking; default ``True``.
    """
    path = os.fspath(filepath)
    if not path.endswith((".h5", ".hdf5")):
        raise ValueError(
            "The filename must end in '.weights.h5' (Keras 3 layout) or '.h5'/'.hdf5' "
            f"(legacy layout). Received: filepath={path}"
        )
    _require_built(model, "save the weights of")
    if not overwrite and os.path.isfile(path) and not _ask_to_overwrite(path):
        return
    with atomic_write_path(path) as temporary, h5py.File(temporary, "w") as file:
        if path.endswith(".weights.h5"):
            _write_keras3_weights(file, model)
        else:
            _write_legacy_weights(file, model)


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False) -> None:
    """Load weights saved by :func:`save_weights`, :func:`save_model` or Keras.

    Reads the Keras 3 ``.weights.h5`` layout, the legacy weights layout and
    the ``model_weights`` of legacy full-model files, whatever the suffix.
    Every shape is checked before any weight changes.

    Args:
        model: A built model with ``layers``.
        filepath: The file to read.
        skip_mismatch: Leave layers whose saved shapes differ unchanged (with a
            warning) instead of raising; default ``False``.
    """
    path = os.fspath(filepath)
    if _is_zip(path):
        raise NotImplementedError(
            "Loading the native Keras zip format ('.keras') is not implemented yet in "
            f"gpukeras. Received: filepath={path}"
        )
    _require_built(model, "load weights into")
    with h5py.File(path, "r") as file:
        if _has_string_list(file, "layer_names"):
            plan = _legacy_plan(file, model, skip_mismatch)
        elif "model_weights" in file:
            plan = _legacy_plan(_safe_group(file, "model_weights"), model, skip_mismatch)
        elif "layers" in file:
            plan = _keras3_plan(file, model, skip_mismatch)
        else:
            raise ValueError(
                "The file holds no Keras weights (expected a 'layer_names' attribute, a "
                f"'model_weights' group or a 'layers' group). Received: filepath={path}"
            )
        values = [(variable, _read(dataset)) for variable, dataset in plan]
    for variable, value in values:
        variable.assign(value)


# -- which layers are saved ------------------------------------------------------
def _saved_layers(model: Any) -> list[Any]:
    """The model's layers as Keras's ``Sequential.layers`` lists them (no InputLayer)."""
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def _require_built(model: Any, action: str) -> None:
    if not getattr(model, "built", True) or any(
        not getattr(layer, "built", True) for layer in _saved_layers(model)
    ):
        raise ValueError(
            f"You are trying to {action} a model that has not yet been built. Build it "
            "first by calling it on some data, by giving the first layer an input shape, "
            "or by fitting it."
        )


def _keras_snake_case(name: str) -> str:
    """Keras's ``to_snake_case`` (``Conv2DTranspose`` -> ``conv2d_transpose``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _keras3_keys(layers: list[Any]) -> list[str]:
    """Keras 3's group names: snake_case class names, ``_1``, ``_2``, ... for repeats."""
    used: dict[str, int] = {}
    keys = []
    for layer in layers:
        base = _keras_snake_case(type(layer).__name__)
        count = used.get(base, -1) + 1
        used[base] = count
        keys.append(base if count == 0 else f"{base}_{count}")
    return keys


# -- writing ------------------------------------------------------------------------
def _model_metadata(model: Any) -> dict[str, Any]:
    """Root attributes of a legacy full-model file (JSON encoded as UTF-8 bytes)."""
    metadata: dict[str, Any] = {
        "keras_version": KERAS_VERSION,
        "gpukeras_version": gpukeras.__version__,
        "backend": K.backend(),
    }
    model_config = {"class_name": type(model).__name__, "config": model.get_config()}
    metadata["model_config"] = _json_bytes(_legacy_config(model_config))
    training_config = _training_config(model)
    if training_config is not None:
        metadata["training_config"] = _json_bytes(_legacy_config(training_config))
    return metadata


def _legacy_config(value: Any) -> Any:
    """Keras's legacy serialization: each object as only ``{"class_name", "config"}``.

    Keras 3 accepts ``batch_input_shape`` and other Keras 2 spellings only in
    entries of this form; with ``module``/``registered_name``/``build_config``
    it deserializes strictly and ``load_model`` fails.
    """
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            return {"class_name": value["class_name"], "config": _legacy_config(value["config"])}
        return {key: _legacy_config(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_legacy_config(item) for item in value]
    return value


def _training_config(model: Any) -> dict[str, Any] | None:
    """Keras's ``training_config``: the compile arguments, optimizer as ``optimizer_config``."""
    get_compile_config = getattr(model, "get_compile_config", None)
    optimizer = getattr(model, "optimizer", None)
    if not callable(get_compile_config) or optimizer is None:
        return None
    config = get_compile_config()
    if not config:
        return None
    config = dict(config)
    config.pop("optimizer", None)
    if callable(getattr(optimizer, "get_config", None)):
        config["optimizer_config"] = {
            "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(),
        }
    return config


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, default=_json_default).encode("utf8")


def _json_default(value: Any) -> Any:
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray):
        return value.tolist()
    if isinstance(value, numpy.dtype):
        return value.name
    if callable(getattr(value, "get_config", None)):
        return {"class_name": type(value).__name__, "config": value.get_config()}
    raise TypeError(f"Cannot save {value!r} ({type(value).__name__}) in a JSON config")


def _write_legacy_weights(group: h5py.Group, model: Any) -> None:
    """The legacy layout: ``layer_names`` attr, one group per layer with ``weight_names``."""
    layers = _saved_layers(model)
    _write_string_list(group, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = K.backend().encode("utf8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    # Keras creates the groups in name order (avoids prefix clashes in HDF5).
    for layer in sorted(layers, key=lambda item: item.name):
        layer_group = group.create_group(layer.name)
        variables = list(layer.weights)
        names = [f"{layer.name}/{variable.name}:0" for variable in variables]
        _write_string_list(layer_group, "weight_names", names)
        for name, variable in zip(names, variables, strict=True):
            layer_group.create_dataset(name, data=variable.numpy())


def _write_keras3_weights(file: h5py.File, model: Any) -> None:
    """The Keras 3 layout: ``layers/<key>/vars/<i>`` plus an empty top-level ``vars``."""
    layers = _saved_layers(model)
    layers_group = file.create_group("layers")
    for key, layer in zip(_keras3_keys(layers), layers, strict=True):
        variables_group = layers_group.create_group(key).create_group("vars")
        variables_group.attrs["name"] = layer.name
        for index, variable in enumerate(layer.weights):
            variables_group.create_dataset(str(index), data=variable.numpy())
    file.create_group("vars").attrs["name"] = getattr(model, "name", "sequential")


def _write_string_list(group: h5py.Group, name: str, values: list[str]) -> None:
    """Store strings as a bytes attribute, split into ``name0``, ``name1``... if too big."""
    encoded = [value.encode("utf8") for value in values]
    too_long = [value for value in encoded if len(value) > _ATTRIBUTE_LIMIT]
    if too_long:
        raise RuntimeError(
            f"These names are longer than the HDF5 attribute limit of {_ATTRIBUTE_LIMIT} "
            f"bytes and cannot be saved: {too_long}"
        )
    data = numpy.asarray(encoded)
    chunks = 1
    parts = numpy.array_split(data, chunks)
    while any(part.nbytes > _ATTRIBUTE_LIMIT for part in parts):
        chunks += 1
        parts = numpy.array_split(data, chunks)
    if chunks == 1:
        group.attrs[name] = data
        return
    for index, part in enumerate(parts):
        group.attrs[f"{name}{index}"] = part


# -- reading --------------------------------------------------------------------------
def _has_string_list(group: h5py.Group, name: str) -> bool:
    return name in group.attrs or f"{name}0" in group.attrs


def _read_string_list(group: h5py.Group, name: str) -> list[str]:
    """An attribute written by :func:`_write_string_list` (whole or in chunks)."""
    if name in group.attrs:
        parts = [group.attrs[name]]
    else:
        parts = []
        while f"{name}{len(parts)}" in group.attrs:
            parts.append(group.attrs[f"{name}{len(parts)}"])
    found = []
    for part in parts:
        for item in numpy.atleast_1d(part):
            found.append(item.decode("utf8") if isinstance(item, bytes) else str(item))
    return found


def _layers_with_weights(model: Any) -> list[Any]:
    return [layer for layer in _saved_layers(model) if layer.weights]


def _legacy_plan(group: h5py.Group, model: Any, skip_mismatch: bool) -> list[_Pair]:
    """Pair each model weight with its dataset, by order of layers that have weights."""
    layers = _layers_with_weights(model)
    saved = []
    for name in _read_string_list(group, "layer_names"):
        layer_group = _safe_group(group, name)
        weight_names = _read_string_list(layer_group, "weight_names")
        if weight_names:
            saved.append((name, layer_group, weight_names))
    if len(saved) != len(layers):
        raise ValueError(
            "Layer count mismatch when loading weights from file. Model expected "
            f"{len(layers)} layers with weights, found {len(saved)} saved layers."
        )
    plan = []
    for index, (layer, entry) in enumerate(zip(layers, saved, strict=True)):
        name, layer_group, weight_names = entry
        variables = list(layer.weights)
        if len(weight_names) != len(variables):
            raise ValueError(
                f"Weight count mismatch for layer #{index} (named {layer.name} in the "
                f"current model, {name} in the save file). Layer expects {len(variables)} "
                f"weight(s). Received {len(weight_names)} saved weight(s)"
            )
        datasets = [_safe_dataset(layer_group, weight_name) for weight_name in weight_names]
        plan.extend(_checked_pairs(index, layer, variables, datasets, skip_mismatch))
    return plan


def _keras3_plan(file: h5py.File, model: Any, skip_mismatch: bool) -> list[_Pair]:
    """Pair each model weight with ``layers/<key>/vars/<i>`` (Keras 3 keys)."""
    layers = _saved_layers(model)
    keys = _keras3_keys(layers)
    layers_group = _safe_group(file, "layers")
    unexpected = sorted(
        key
        for key in layers_group
        if key not in keys and "vars" in layers_group[key] and len(layers_group[key]["vars"])
    )
    if unexpected:
        raise ValueError(
            "The weights file holds weights for layers the model does not have: "
            f"{unexpected}. Model layers: {keys}"
        )
    plan = []
    for index, (key, layer) in enumerate(zip(keys, layers, strict=True)):
        variables = list(layer.weights)
        if not variables:
            continue
        path = f"{key}/vars"
        if key not in layers_group:
            raise ValueError(
                f"Layer '{layer.name}' expects {len(variables)} weight(s), but the file has "
                f"no group 'layers/{path}'."
            )
        variables_group = _safe_group(layers_group, path)
        if len(variables_group) != len(variables):
            raise ValueError(
                f"Layer '{layer.name}' expected {len(variables)} variables, but received "
                f"{len(variables_group)} variables during loading. Expected: "
                f"{[variable.name for variable in variables]}"
            )
        datasets = [_safe_dataset(variables_group, str(i)) for i in range(len(variables))]
        plan.extend(_checked_pairs(index, layer, variables, datasets, skip_mismatch))
    return plan


def _checked_pairs(
    index: int, layer: Any, variables: list[Any], datasets: list[Any], skip_mismatch: bool
) -> list[_Pair]:
    """``(variable, dataset)`` pairs of one layer after checking every shape.

    A mismatch raises, or with ``skip_mismatch`` warns and leaves the layer as is.
    """
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
            raise ValueError(message)
        warnings.warn(f"Skipping loading weights for layer #{index}: {message}", stacklevel=4)
        return []
    return list(zip(variables, datasets, strict=True))


def _read(dataset: h5py.Dataset) -> numpy.ndarray:
    return numpy.asarray(dataset[()])


def _path_parts(path: str) -> list[str]:
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"Invalid path in HDF5 file: {path!r}")
    return parts


def _hard_child(group: h5py.Group, name: str, path: str) -> Any:
    """``group[name]`` if it is a hard link; soft and external links are refused."""
    if name not in group:
        raise ValueError(f"The HDF5 file has no entry {path!r} (in {group.name!r})")
    link = group.get(name, getclass=True, getlink=True)
    if link is not h5py.HardLink:
        raise ValueError(f"Not allowed: HDF5 file with {link.__name__} at {path!r}")
    return group[name]


def _safe_group(group: h5py.Group, path: str) -> h5py.Group:
    current = group
    for part in _path_parts(path):
        current = _hard_child(current, part, path)
        if not isinstance(current, h5py.Group):
            raise ValueError(f"Invalid HDF5 file: expected a group at {path!r}")
    return current


def _safe_dataset(group: h5py.Group, path: str) -> h5py.Dataset:
    *folders, name = _path_parts(path)
    parent = _safe_group(group, "/".join(folders)) if folders else group
    dataset = _hard_child(parent, name, path)
    if not isinstance(dataset, h5py.Dataset):
        raise ValueError(f"Invalid HDF5 file: expected a dataset at {path!r}")
    if dataset.external:
        raise ValueError(f"Not allowed: HDF5 file with an external dataset at {path!r}")
    if dataset.is_virtual:
        raise ValueError(f"Not allowed: HDF5 file with a virtual dataset at {path!r}")
    if dataset.dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(
            f"Invalid HDF5 file: weight {path!r} has non-numeric dtype {dataset.dtype}"
        )
    return dataset


def _is_zip(path: str) -> bool:
    with builtins.open(path, "rb") as file:
        return file.read(4) == b"PK\x03\x04"


def _ask_to_overwrite(path: str) -> bool:
    """Keras's prompt: ``[WARNING] {path} already exists - overwrite? [y/n]``."""
    answer = input(f"[WARNING] {path} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print("[TIP] Next time specify overwrite=True!")
    return True
