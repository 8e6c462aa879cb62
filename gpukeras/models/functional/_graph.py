"""The graph of a functional model: which nodes, in which order, checked once at construction.

Walking back from the outputs along ``_keras_history`` finds every node the outputs need
(depth-first, stopping at the declared inputs). Each node's *depth* is its distance from
the outputs (a parent is deeper than its children); nodes run deepest first, and the
operations (layers and ops) are listed the same way, ties broken by the order the walk
first met them, which is Keras's order (so weights, ``model.layers`` and saved files line
up with Keras's). Two checks give clear errors naming the tensor: a cycle, and a tensor
the declared inputs cannot reach (a "disconnected" graph, e.g. an ``Input`` not listed).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gpukeras.layers._keras_tensor import KerasTensor
from gpukeras.layers._node import Node, node_of


class Graph:
    """``nodes`` in execution order and ``operations`` in Keras's order, for given inputs
    and outputs (flat lists of KerasTensors)."""

    def __init__(self, inputs: list[KerasTensor], outputs: list[KerasTensor]) -> None:
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        ordered, first_seen = _walk_back(self.inputs, self.outputs)
        node_depth, operation_depth = _depths(ordered, first_seen, self.inputs)
        walk_index = {id(node): i for i, node in enumerate(ordered)}
        self.nodes = _by_depth(node_depth, key=lambda node: walk_index.get(id(node), -1))
        self.depth = {key: depth for key, (_, depth) in node_depth.items()}  # by id(node)
        self.operations = _by_depth(operation_depth, key=lambda op: first_seen[id(op)])
        _check_computable(self.inputs, self.nodes)
        _check_unique_names(self.operations)
        self.last_use = _last_uses(self.nodes, self.inputs, self.outputs)

    @property
    def compute_nodes(self) -> list[Node]:
        """The nodes that compute something (not the inputs' own InputLayer nodes)."""
        input_ids = {id(t) for t in self.inputs}
        return [
            node
            for node in self.nodes
            if not node.is_input and not all(id(t) in input_ids for t in node.output_tensors)
        ]


def _walk_back(inputs: list[KerasTensor], outputs: list[KerasTensor]):
    """Nodes from the inputs to the outputs (depth-first), and the first-seen index of each
    operation. A declared input made by another layer cuts the walk there."""
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    in_progress: set[int] = set()
    ordered: list[Node] = []
    first_seen: dict[int, int] = {}
    operations: dict[int, Any] = {}

    def visit(tensor: KerasTensor) -> None:
        node = node_of(tensor)
        if id(node) in finished:
            return
        if id(tensor) in input_ids and not node.is_input:
            finished.add(id(node))
            return
        if id(node) in in_progress:
            raise ValueError(
                f"Tensor {tensor.name!r} from operation {node.operation.name!r} is part of a "
                f"cycle: the graph must be acyclic. Received: {tensor!r}"
            )
        operations.setdefault(id(node.operation), node.operation)
        first_seen.setdefault(id(node.operation), len(first_seen))
        in_progress.add(id(node))
        if not node.is_input:
            for parent_tensor in node.input_tensors:
                visit(parent_tensor)
        in_progress.discard(id(node))
        finished.add(id(node))
        ordered.append(node)

    for tensor in outputs:
        visit(tensor)
    return ordered, first_seen


def _depths(ordered: list[Node], first_seen: dict[int, int], inputs: list[KerasTensor]):
    """``{node: depth}`` and ``{operation: depth}``; a shared operation takes its deepest
    node's depth. Declared Inputs that no output uses still count (depth 0)."""
    in_graph = {id(node) for node in ordered}
    node_depth: dict[int, tuple[Node, int]] = {}
    operation_depth: dict[int, tuple[Any, int]] = {}
    for node in reversed(ordered):
        depth = node_depth.get(id(node), (node, 0))[1]
        depth = max(depth, operation_depth.get(id(node.operation), (None, 0))[1])
        operation_depth[id(node.operation)] = (node.operation, depth)
        node_depth[id(node)] = (node, depth)
        for parent in node.parent_nodes if not node.is_input else []:
            if id(parent) in in_graph:
                previous = node_depth.get(id(parent), (parent, 0))[1]
                node_depth[id(parent)] = (parent, max(depth + 1, previous))
    for tensor in inputs:
        node = node_of(tensor)
        if node.is_input and id(node.operation) not in operation_depth:
            operation_depth[id(node.operation)] = (node.operation, 0)
            node_depth[id(node)] = (node, 0)
            first_seen[id(node.operation)] = -1
    return node_depth, operation_depth


def _by_depth(depths: dict[int, tuple[Any, int]], key: Any) -> list[Any]:
    """The items deepest first; within one depth, by ``key``."""
    groups: dict[int, list[Any]] = defaultdict(list)
    for item, depth in depths.values():
        groups[depth].append(item)
    return [
        item for depth in sorted(groups, reverse=True) for item in sorted(groups[depth], key=key)
    ]


def _check_computable(inputs: list[KerasTensor], nodes: list[Node]) -> None:
    known = {id(t) for t in inputs}
    accessed: list[str] = []
    for node in nodes:
        for tensor in node.input_tensors if not node.is_input else []:
            if id(tensor) not in known:
                raise ValueError(
                    f"Graph disconnected: cannot obtain a value for tensor {tensor.name!r} "
                    f"{tensor!r} at layer {node.operation.name!r}: it comes from an input "
                    f"that is not in the model's `inputs`. The layers before it that were "
                    f"reached without issue: {accessed}"
                )
        if node.is_input and not any(id(t) in known for t in node.output_tensors):
            tensor = node.output_tensors[0]
            raise ValueError(
                f"Graph disconnected: the outputs need input {tensor.name!r} ({tensor!r}), "
                f"which is not in the model's `inputs`. Received: inputs="
                f"{[t.name for t in inputs]}"
            )
        accessed.append(node.operation.name)
        known.update(id(t) for t in node.output_tensors)


def _check_unique_names(operations: list[Any]) -> None:
    names = [operation.name for operation in operations]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(
                f"The name {name!r} is used {names.count(name)} times in the model. "
                "All layer names should be unique."
            )


def _last_uses(nodes: list[Node], inputs: list[KerasTensor], outputs: list[KerasTensor]):
    """``{id(tensor): index of the last node that reads it}``; outputs are never freed."""
    last: dict[int, int] = {}
    for position, node in enumerate(nodes):
        for tensor in node.input_tensors if not node.is_input else []:
            last[id(tensor)] = position
    for tensor in outputs:
        last[id(tensor)] = len(nodes)
    return last
