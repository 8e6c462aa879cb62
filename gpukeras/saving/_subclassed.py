"""Keras 3's ``.weights.h5`` layout for a subclassed model (``class M(keras.Model)``).

Keras names the groups after where each layer sits, not after layer names (which change
between runs). Starting at the model, it writes an object's own variables in ``vars``,
then visits its attributes, public names first and then private ones, each set sorted;
a model also has a ``layers`` attribute (every layer it holds, in the order set). A layer
in attribute ``a`` goes to ``a/``; a list, tuple or dict in ``a`` puts its layers at
``a/<snake_case class>``, ``a/<snake_case class>_1``, ... (nested containers at
``container``, ``container_1``). A layer already written is skipped where it appears
again (its name in a container is still used up). So a layer first met through
``layers`` (its attribute sorts after ``layers``, or is private) is written under
``layers/``. Built-in layers keep the per-class layout of ``_hdf5``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import h5py

from gpukeras._naming import to_snake_case
from gpukeras.saving import _h5safe as safe
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._h5safe import Budget

# (group path, the object saved there): one per layer or model, in Keras's visiting order
_Placement = tuple[str, Any]


def is_subclassed(model: Any) -> bool:
    """Whether ``model`` is a subclassed Model (not a Sequential or functional model)."""
    from gpukeras.models import Model, Sequential
    from gpukeras.models.functional import Functional

    return isinstance(model, Model) and not isinstance(model, (Sequential, Functional))


def placements(model: Any) -> list[_Placement]:
    """Where Keras 3 saves the model (``''``) and each layer it holds."""
    found: list[_Placement] = []
    _visit(model, "", found, set())
    return found


def _walks_attributes(obj: Any) -> bool:
    """Models and ``call()`` layers: their attributes decide the layout. Built-in layers
    are written by ``_hdf5`` (per-class variable groups)."""
    from gpukeras.layers._call import uses_call
    from gpukeras.saving._model_layers import is_graph_model

    # A Sequential or functional model in an attribute is written by its layers, as a file
    # of its own would be (``_model_layers``), not by its attributes.
    return is_subclassed(obj) or (uses_call(obj) and not is_graph_model(obj))


def _visit(obj: Any, path: str, found: list[_Placement], visited: set[int]) -> None:
    if id(obj) in visited:
        return
    visited.add(id(obj))
    found.append((path, obj))
    if not _walks_attributes(obj):
        return
    for name, value in _children(obj):
        child_path = _join(path, name)
        if _is_layer(value):
            _visit(value, child_path, found, visited)
        else:
            _visit_container(value, child_path, found, visited, set())


def _visit_container(
    container: Any, path: str, found: list[_Placement], visited: set[int], seen: set[int]
) -> None:
    if id(container) in seen:
        return
    seen.add(id(container))
    used: dict[str, int] = {}
    items = container.values() if isinstance(container, dict) else container
    for item in items:
        if _is_layer(item):
            _visit(item, _join(path, _unique(to_snake_case(type(item).__name__), used)), found,
                   visited)  # fmt: skip
        elif isinstance(item, (list, tuple, dict)):
            _visit_container(item, _join(path, _unique("container", used)), found, visited, seen)


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    """``(attribute, value)`` for attributes holding layers or containers, in Keras's
    order: public names sorted, then private ones; a model's ``layers`` among them."""
    attributes = {
        name: value
        for name, value in vars(obj).items()
        if _is_layer(value) or isinstance(value, (list, tuple, dict))
    }
    attributes.pop("_layers", None)
    if is_subclassed(obj):
        attributes["layers"] = obj.layers
    for name in sorted(attributes, key=lambda n: f"~{n}" if n.startswith("_") else n):
        if not name.startswith("__"):
            yield name, attributes[name]


def _is_layer(value: Any) -> bool:
    from gpukeras.layers import Layer

    return isinstance(value, Layer)


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def own_variables(obj: Any) -> list[Any]:
    """The variables ``obj`` itself holds (``add_weight``, Variable attributes): trainable
    first, as Keras's ``save_own_variables`` writes them."""
    own = list(obj.__dict__.get("_weights", []))
    return [v for v in own if v.trainable] + [v for v in own if not v.trainable]


# -- writing ----------------------------------------------------------------------------
def write(file: h5py.File, model: Any) -> None:
    """The model's weights in Keras 3's layout (the optimizer is written by the caller)."""
    from gpukeras.saving._hdf5 import write_keras3_layer

    for path, obj in placements(model):
        if path and not _walks_attributes(obj):
            write_keras3_layer(file.require_group(path), obj)
            continue
        group = file.require_group(_join(path, "vars"))
        group.attrs["name"] = obj.name
        for index, variable in enumerate(own_variables(obj)):
            group.create_dataset(str(index), data=variable.numpy())


# -- reading ----------------------------------------------------------------------------
def plan(
    file: h5py.Group, model: Any, budget: Budget, label: str, skip_mismatch: bool
) -> list[tuple[Any, Any]]:
    """``(variable, dataset)`` for every weight of ``model``, from Keras 3's layout, after
    checking every count and shape (``skip_mismatch``: a mismatched weight is left as is,
    with a warning)."""
    from gpukeras.saving._hdf5 import keras3_layer_datasets

    pairs: list[tuple[Any, Any]] = []
    for path, obj in placements(model):
        where = f"'{obj.name}' (group '{path or '/'}' in {label})"
        if path and not _walks_attributes(obj):
            if not obj.weights:
                continue
            group = _group(file, path, where, obj)
            found = keras3_layer_datasets(group, obj, budget, where)
            pairs += [(variable, found[id(variable)]) for variable in obj.weights]
            continue
        own = own_variables(obj)
        if not own:
            continue
        group = _group(file, _join(path, "vars"), where, obj)
        if len(group) != len(own):
            raise FileFormatError(
                f"{where} expected {len(own)} variables {[tuple(v.shape) for v in own]}, "
                f"but received {len(group)} variables during loading."
            )
        pairs += [(v, safe.safe_dataset(group, str(i), budget)) for i, v in enumerate(own)]
    return _same_shapes(pairs, skip_mismatch)


def _group(file: h5py.Group, path: str, where: str, obj: Any) -> h5py.Group:
    current = file
    for part in path.split("/"):
        if not safe.has_entry(current, part):
            raise FileFormatError(
                f"{where} expects {len(obj.weights)} weight(s), but the file has no group "
                f"'{path}'. Was it saved from a model of another structure?"
            )
        current = safe.safe_group(current, part)
    return current


def _same_shapes(pairs: list[tuple[Any, Any]], skip_mismatch: bool) -> list[tuple[Any, Any]]:
    """The pairs whose shapes agree; a mismatch raises, or with ``skip_mismatch`` warns
    and drops that weight."""
    kept = []
    for variable, dataset in pairs:
        if tuple(variable.shape) == tuple(dataset.shape):
            kept.append((variable, dataset))
            continue
        message = (
            f"Shape mismatch for weight {variable.path}. Weight expects shape "
            f"{tuple(variable.shape)}. Received saved weight with shape {tuple(dataset.shape)}"
        )
        if not skip_mismatch:
            raise FileFormatError(message)
        warnings.warn(f"Skipping loading weight: {message}", stacklevel=5)
    return kept
