"""models.clone_model: the same architecture with fresh weights (Keras 3's arguments).

Each layer is remade from its config (``clone_function``, default
``type(layer).from_config(layer.get_config())``), so weights are newly initialized, as
in Keras. A Sequential becomes a Sequential of the clones. A functional model's graph is
replayed node by node on new Inputs (or ``input_tensors``): a shared layer is cloned once
and called as often as before, ops are called again, a nested model is cloned the same
way (its weights fresh too).
"""

from __future__ import annotations

from typing import Any

from gpukeras.layers._keras_tensor import KerasTensor, flatten, map_structure, pack_like
from gpukeras.ops._symbolic import symbolic_op


def clone_model(
    model: Any,
    input_tensors: Any = None,
    clone_function: Any = None,
    call_function: Any = None,
    recursive: bool = False,
    **kwargs: Any,
) -> Any:
    """A new model with ``model``'s architecture and newly initialized weights.

    Args:
        model: A Sequential or functional model. Required.
        input_tensors: KerasTensor(s) to build the clone on (functional models, or a
            Sequential whose clone should start from them); default new Inputs.
        clone_function: ``layer -> new layer``; default: from the layer's config.
        call_function: not supported (``None`` only).
        recursive: accepted for Keras compatibility; nested models are always cloned
            with ``clone_function`` applied to their layers.
    """
    from gpukeras.models._sequential import Sequential

    if kwargs:
        raise TypeError(f"clone_model got unexpected keyword arguments: {sorted(kwargs)}")
    if call_function is not None:
        raise NotImplementedError(
            f"clone_model's call_function is not supported yet. Received: call_function="
            f"{call_function!r}"
        )
    clone = clone_function or _from_config
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone)
    if getattr(model, "_graph", None) is not None:
        return _clone_functional(model, input_tensors, clone)
    raise ValueError(
        "clone_model needs a Sequential or functional model (a subclassed model's call() "
        f"cannot be replayed). Received: model={model!r} of type {type(model).__name__}"
    )


def _from_config(layer: Any) -> Any:
    return type(layer).from_config(layer.get_config())


def _clone_layer(layer: Any, clone: Any) -> Any:
    from gpukeras.models._model import Model

    if isinstance(layer, Model):  # a nested model: its own layers cloned the same way
        return clone_model(layer, clone_function=clone if clone is not _from_config else None)
    return clone(layer)


def _clone_sequential(model: Any, input_tensors: Any, clone: Any) -> Any:
    from gpukeras.models._sequential import Sequential

    layers = [_clone_layer(layer, clone) for layer in model.layers]
    start: list[Any] = []
    if input_tensors is not None:
        start = [flatten(input_tensors)[0]]
    elif model._input_layer is not None:
        start = [_clone_input(model._input_layer)]
    clone_seq = Sequential(start + layers, name=model.name, trainable=model.trainable)
    if not clone_seq.built and model.built and model.input_shape is not None:
        clone_seq.build(model.input_shape)
    return clone_seq


def _clone_input(layer: Any) -> KerasTensor:
    from gpukeras.layers._input import Input

    return Input(batch_shape=layer.batch_shape, dtype=layer.dtype, name=layer.name)


def _clone_functional(model: Any, input_tensors: Any, clone: Any) -> Any:
    from gpukeras.models.functional import Functional

    graph = model._graph
    if input_tensors is None:
        new_inputs = [_clone_input(t._keras_history.operation) for t in graph.inputs]
    else:
        new_inputs = flatten(input_tensors)
        if len(new_inputs) != len(graph.inputs):
            raise ValueError(
                f"Model {model.name!r} has {len(graph.inputs)} input(s). Received: "
                f"input_tensors with {len(new_inputs)}"
            )
    tensors = {id(old): new for old, new in zip(graph.inputs, new_inputs)}
    clones: dict[int, Any] = {}

    def layer_for(layer: Any) -> Any:
        if id(layer) not in clones:  # a shared layer is cloned once
            clones[id(layer)] = _clone_layer(layer, clone)
        return clones[id(layer)]

    replay(graph, tensors, layer_for)
    new_structure = pack_like(model._inputs_struct, new_inputs)
    outputs = pack_like(model._outputs_struct, [tensors[id(t)] for t in graph.outputs])
    return Functional(new_structure, outputs, name=model.name, trainable=model.trainable)


def replay(graph: Any, tensors: dict[int, Any], layer_for: Any) -> None:
    """Call each compute node of ``graph`` again, in order, on the tensors ``tensors`` maps
    the old ones to (filled in as the nodes run): layers through ``layer_for(layer)``, ops
    recorded again."""
    for node in graph.compute_nodes:
        if id(node.output_tensors[0]) in tensors:
            continue
        operation = node.operation
        swap = _swapper(tensors)
        args, kwargs = map_structure(swap, list(node.args)), map_structure(swap, node.kwargs)
        if hasattr(operation, "op_name"):  # an op: recorded again on the new tensors
            outputs = symbolic_op(operation.function, operation.op_name, tuple(args), kwargs)
        else:
            outputs = layer_for(operation)(args[0], **kwargs)
        for old, new in zip(node.output_tensors, flatten(outputs)):
            tensors[id(old)] = new


def _swapper(tensors: dict[int, Any]) -> Any:
    def swap(leaf: Any) -> Any:
        return tensors[id(leaf)] if isinstance(leaf, KerasTensor) else leaf

    return swap
