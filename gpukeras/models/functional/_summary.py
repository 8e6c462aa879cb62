"""The rows of a functional model's ``summary()``: Keras 3's table with "Connected to".

One row per operation (layers and ops, in the graph's order). The "Connected to" column
lists, for each of the operation's nodes in this graph, its inputs as
``layer_name[node_index][tensor_index]``, one a line; Keras leaves it out when the graph is a plain
chain (one node per depth, one input each, no shared layer), and so does this.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from gpukeras.layers._keras_tensor import flatten


def summary_rows(model: Any) -> list[tuple[str, ...]]:
    graph = model._graph
    in_graph = {id(node) for node in graph.nodes}
    chain = _sequential_like(graph)
    rows = []
    for operation in graph.operations:
        nodes = [n for n in operation.__dict__.get("_inbound_nodes", []) if id(n) in in_graph]
        row = (_title(operation), _shape(nodes), _params(operation))
        rows.append(row if chain else (*row, _connections(nodes)))
    return rows


def _sequential_like(graph: Any) -> bool:
    per_depth = Counter(graph.depth.values())
    if any(count > 1 for count in per_depth.values()):
        return False
    if any(len(node.input_tensors) > 1 for node in graph.nodes if not node.is_input):
        return False
    uses = Counter(id(node.operation) for node in graph.nodes)
    return all(count == 1 for count in uses.values())


def _title(operation: Any) -> str:
    from gpukeras.layers import Layer

    if isinstance(operation, Layer):
        kind = type(operation).__name__
    else:  # an op: Keras names its class after the op (add -> Add)
        kind = "".join(part.capitalize() for part in operation.op_name.split("_"))
    return f"{operation.name} ({kind})"


def _shape(nodes: list[Any]) -> str:
    shapes = {_format(node.outputs) for node in nodes}
    if len(shapes) != 1:
        return "multiple" if shapes else "?"
    return shapes.pop()


def _format(outputs: Any) -> str:
    tensors = flatten(outputs)
    shown = [_tuple(t.shape) for t in tensors]
    if len(shown) == 1 and not isinstance(outputs, (list, dict)):
        return shown[0]
    return "[" + ",\n ".join(shown) + "]"  # one shape a line, as Keras wraps them


def _tuple(shape: tuple) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _params(operation: Any) -> str:
    count = operation.count_params() if hasattr(operation, "count_params") else 0
    return f"{count:,}"


def _connections(nodes: list[Any]) -> str:
    found = []
    for node in nodes:
        for tensor in node.input_tensors if not node.is_input else []:
            operation, node_index, tensor_index = tensor._keras_history
            found.append(f"{operation.name}[{node_index}][{tensor_index}]")
    return ",\n".join(found) or "-"  # one connection a line, as Keras wraps them
