"""A functional model's config in Keras 3's node format, as Keras's ``get_config`` writes it.

Each layer of the graph is listed once (in the model's ``operations`` order) with its
``inbound_nodes``: one ``{'args', 'kwargs'}`` per call of the layer *in this model*, the
KerasTensors in them written as ``__keras_tensor__`` dicts with ``keras_history``
``[layer, node, tensor]``. Node numbers count only this model's calls of the layer (a
layer shared with another model keeps its numbering here), from 0; ``input_layers`` and
``output_layers`` count a nested functional model's calls from 1, as Keras does (see
``_functional_config``). Nested models are written whole, in the same form.

``legacy=True`` gives the entries of Keras's legacy ``.h5`` ``model_config``:
``{'class_name', 'config', 'name', 'inbound_nodes'}`` without ``module``.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.saving import _config_write

_PLAIN = (type(None), bool, int, float, str)


def is_functional_model(model: Any) -> bool:
    from gpukeras.models.functional import Functional

    return isinstance(model, Functional)


def functional_model_config(model: Any, legacy: bool = False) -> dict[str, Any]:
    """``{'module', 'class_name': 'Functional', 'config', ...}`` (legacy: class and config).

    A Model subclass made with inputs and outputs (``CustomModel(inputs, outputs)``) is
    named by its class and registered name, as Keras names it; loading it needs the class
    (registered, or in ``custom_objects``).
    """
    from gpukeras._custom_objects import get_registered_name
    from gpukeras.models.functional import Functional

    config = functional_config(model, legacy)
    cls = type(model)
    own_class = cls is not Functional
    if legacy:
        return {"class_name": get_registered_name(cls) if own_class else "Functional",
                "config": config}  # fmt: skip
    return {
        "module": cls.__module__ if own_class else "keras.src.models.functional",
        "class_name": cls.__name__ if own_class else "Functional",
        "config": config,
        "registered_name": get_registered_name(cls) if own_class else "Functional",
        "build_config": {"input_shape": None},
    }


def functional_config(model: Any, legacy: bool = False) -> dict[str, Any]:
    """What Keras's ``Functional.get_config()`` returns for ``model``."""
    from gpukeras.layers import Layer
    from gpukeras.layers._node import inbound_nodes

    graph = model._graph
    own = {id(node) for node in graph.nodes}
    renumbered: dict[tuple[int, int], int] = {}
    for operation in graph.operations:
        kept = [node for node in inbound_nodes(operation) if id(node) in own]
        for position, node in enumerate(kept):
            renumbered[(id(operation), node.index)] = position
    entries = []
    for operation in graph.operations:
        if not isinstance(operation, Layer):
            raise NotImplementedError(
                f"Saving the functional model {model.name!r} is not supported: it calls "
                f"the op {getattr(operation, 'name', operation)!r} on KerasTensors (e.g. "
                "`x * 2` or `ops.concatenate`), which Keras saves as its own op classes. "
                "Use layers (layers.Rescaling, layers.Concatenate, ...) instead."
            )
        entry = layer_entry(operation, legacy)
        entry["name"] = operation.name
        entry["inbound_nodes"] = [
            _node_config(node, renumbered)
            for node in inbound_nodes(operation)
            if id(node) in own and node.input_tensors
        ]
        entries.append(entry)
    _check_inputs_are_input_layers(model)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": entries,
        "input_layers": _io_structure(model._inputs_struct, renumbered),
        "output_layers": _io_structure(model._outputs_struct, renumbered),
    }


def layer_entry(layer: Any, legacy: bool) -> dict[str, Any]:
    """One layer's entry (a nested model's whole config), without name and nodes."""
    from gpukeras.layers import _serialization
    from gpukeras.saving._model_layers import is_graph_model

    if is_functional_model(layer):
        return functional_model_config(layer, legacy)
    if is_graph_model(layer) and legacy:  # a Sequential
        return _config_write.legacy_model_config(layer)
    if is_graph_model(layer):
        return _config_write.model_config(layer)
    # Any other layer, a subclassed model included (its get_config, its class by name).
    entry = _serialization.serialize(layer)
    if legacy:
        entry = {
            "class_name": entry.get("registered_name") or entry["class_name"],
            "config": entry["config"],
        }
    elif entry["class_name"] != "InputLayer":
        entry["config"] = {k: v for k, v in entry["config"].items() if k != "batch_input_shape"}
    return _config_write.with_policy_dicts(entry)


def _check_inputs_are_input_layers(model: Any) -> None:
    from gpukeras.layers import InputLayer

    for tensor in model.inputs:
        operation = tensor._keras_history.operation
        if not isinstance(operation, InputLayer):
            raise NotImplementedError(
                f"Saving the functional model {model.name!r} is not supported: its input "
                f"{tensor.name!r} is the output of layer {operation.name!r}, not a "
                "keras.Input; a file could not rebuild it (Keras's cannot either)."
            )


def _history(tensor: Any, renumbered: dict[tuple[int, int], int]) -> list[Any]:
    """``[layer, call, output]``, the output counted in Keras's order (a dict's by sorted
    key, where gpukeras's own ``_keras_history`` counts in insertion order)."""
    from gpukeras.layers._node import inbound_nodes
    from gpukeras.saving._functional_config import keras_order

    operation, node_index, _ = tensor._keras_history
    outputs = keras_order(inbound_nodes(operation)[node_index].outputs)
    position = next(i for i, output in enumerate(outputs) if output is tensor)
    return [operation.name, renumbered[(id(operation), node_index)], position]


def _io_structure(structure: Any, renumbered: dict[tuple[int, int], int]) -> Any:
    from gpukeras.layers._keras_tensor import KerasTensor

    if isinstance(structure, KerasTensor):
        history = _history(structure, renumbered)
        if is_functional_model(structure._keras_history.operation):
            history[1] += 1  # Keras counts a nested functional model's calls from 1 here
        return history
    if isinstance(structure, dict):
        return {key: _io_structure(value, renumbered) for key, value in structure.items()}
    return [_io_structure(value, renumbered) for value in structure]


def _node_config(node: Any, renumbered: dict[tuple[int, int], int]) -> dict[str, Any]:
    where = f"a call of layer {node.operation.name!r}"
    return {
        "args": _argument(list(node.args), renumbered, where),
        "kwargs": _argument(dict(node.kwargs), renumbered, where),
    }


def _argument(value: Any, renumbered: dict[tuple[int, int], int], where: str) -> Any:
    from gpukeras.layers._keras_tensor import KerasTensor
    from gpukeras.saving._serialization import serialize_keras_object

    if isinstance(value, KerasTensor):
        return {
            "class_name": "__keras_tensor__",
            "config": {
                "shape": list(value.shape),
                "dtype": value.dtype,
                "keras_history": _history(value, renumbered),
            },
        }
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_argument(item, renumbered, where) for item in value]
    if isinstance(value, dict):
        return {str(key): _argument(item, renumbered, where) for key, item in value.items()}
    try:
        return serialize_keras_object(value)
    except TypeError:
        raise TypeError(
            f"Cannot save {where}: an argument is neither a tensor, a plain value nor an "
            f"object with get_config(). Received: {value!r:.100}"
        ) from None
