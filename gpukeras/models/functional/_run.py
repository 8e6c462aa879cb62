"""Running a functional graph on data: nodes in order, masks along the edges, arrays freed.

Each tensor's value (and mask) lives in a dict keyed by the KerasTensor's id from the node
that makes it until the last node that reads it (``Graph.last_use``); then it is dropped,
so a deep model holds only the arrays still needed (the tape keeps what backward needs).
A layer node runs through ``_call.call_with_mask`` (what ``Layer.__call__`` runs), so on a
tape a built-in layer is one node; a ``Sequential`` node through its own ``__call__``; an
op node calls its ``gpukeras.ops`` function again.
"""

from __future__ import annotations

from typing import Any

from gpukeras.layers._keras_tensor import KerasTensor, flatten, map_structure, pack_like
from gpukeras.layers._node import Node, Operation
from gpukeras.models.functional._inputs import flat_inputs


def run_graph(model: Any, inputs: Any, training: Any, mask: Any) -> tuple[list, list]:
    """``(output values, output masks)`` of ``model``'s graph on ``inputs``, flat."""
    graph = model._graph
    values: dict[int, Any] = {}
    masks: dict[int, Any] = {}
    given_masks = _flat_masks(mask, len(graph.inputs))
    for tensor, value, given in zip(graph.inputs, flat_inputs(model, inputs), given_masks):
        values[id(tensor)] = value
        masks[id(tensor)] = given
    for position, node in enumerate(graph.nodes):
        if node.is_input or id(node.output_tensors[0]) in values:
            continue  # an Input, or a declared input made outside this graph
        outputs, out_masks = _run_node(node, values, masks, training)
        produced = node.output_tensors
        out_values = [outputs] if isinstance(node.outputs, KerasTensor) else flatten(outputs)
        for tensor, value, out_mask in zip(
            produced, out_values, _flat_masks(out_masks, len(produced))
        ):
            values[id(tensor)] = value
            masks[id(tensor)] = out_mask
        for tensor in node.input_tensors:
            if graph.last_use.get(id(tensor)) == position:
                values.pop(id(tensor), None)
                masks.pop(id(tensor), None)
    return [values[id(t)] for t in graph.outputs], [masks[id(t)] for t in graph.outputs]


def _run_node(node: Node, values: dict, masks: dict, training: Any) -> tuple[Any, Any]:
    from gpukeras.layers._call import call_with_mask, uses_call
    from gpukeras.models._sequential import Sequential

    operation = node.operation
    if isinstance(operation, Operation):
        args = _substitute(node.args, values)
        kwargs = _substitute(node.kwargs, values)
        return operation(*args, **kwargs), None
    inputs = _substitute(node.args[0], values)
    kwargs = _substitute(dict(node.kwargs), values)
    node_training = kwargs.pop("training", None)
    if node_training is not None:
        training = node_training  # fixed at the symbolic call (base(x, training=False))
    given_mask = kwargs.pop("mask", None)
    if given_mask is not None:
        mask = _substitute(given_mask, values)
    else:
        mask = _mask_like(node.args[0], masks)
    if isinstance(operation, Sequential):
        return operation(inputs, training=training), None
    if kwargs and not uses_call(operation):  # an RNN's initial_state: its own __call__
        outputs = operation(inputs, training=training, mask=mask, **kwargs)
        return outputs, operation.compute_mask(inputs, mask)
    return call_with_mask(operation, inputs, training, mask, kwargs or None)


def _substitute(structure: Any, values: dict) -> Any:
    """``structure`` with each KerasTensor replaced by its value."""
    return map_structure(
        lambda leaf: values[id(leaf)] if isinstance(leaf, KerasTensor) else leaf, structure
    )


def _mask_like(structure: Any, masks: dict) -> Any:
    """The masks of the tensors in ``structure``: one, or the structure; None if none."""
    leaves = [masks.get(id(t)) for t in flatten(structure)]
    if all(m is None for m in leaves):
        return None
    if isinstance(structure, KerasTensor):
        return leaves[0]
    return pack_like(structure, leaves)


def _flat_masks(mask: Any, count: int) -> list[Any]:
    if mask is None:
        return [None] * count
    if count == 1:
        return [mask[0] if isinstance(mask, (list, tuple)) and len(mask) == 1 else mask]
    leaves = flatten(mask) if isinstance(mask, (list, tuple, dict)) else [mask]
    return leaves + [None] * (count - len(leaves))


def chain_of(model: Any) -> list[Any] | None:
    """The layers of ``model``'s graph in order when it is a plain chain the fused
    Sequential step can run, else ``None``: one input and output, each node a built-in
    layer called once, without keyword arguments, on the previous node's one output."""
    from gpukeras.layers._call import uses_call
    from gpukeras.models._model import Model

    graph = model._graph
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return None
    previous = graph.inputs[0]
    layers = []
    for node in graph.compute_nodes:
        layer = node.operation
        if isinstance(layer, (Operation, Model)) or uses_call(layer) or node.kwargs:
            return None
        if any(layer is earlier for earlier in layers):
            return None  # shared: each call's state must be its own, the tape keeps it
        if not isinstance(node.args[0], KerasTensor) or node.args[0] is not previous:
            return None
        if len(node.output_tensors) != 1:
            return None
        previous = node.output_tensors[0]
        layers.append(layer)
    return layers if layers and previous is graph.outputs[0] else None
