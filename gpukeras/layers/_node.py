"""Node: one call of a layer (or an op) on KerasTensors, recorded for the functional API.

A node keeps what the call was given (``args``/``kwargs``, where KerasTensors stand for
the data to come) and the KerasTensors it returned. Each output's ``_keras_history`` is
``(operation, node_index, tensor_index)``: ``operation._inbound_nodes[node_index]`` is this
node, so a graph is found by walking back from the outputs (``models/functional``).
A layer called three times has three nodes: the same weights, three places in the graph.

An :class:`Operation` stands for a ``gpukeras.ops`` function called on KerasTensors
(``x * 2``, ``ops.concatenate([a, b])``): it is not a layer, it holds no weights, and
when the graph runs it calls the same function on the data.
"""

from __future__ import annotations

from typing import Any

from gpukeras._naming import unique_name
from gpukeras.layers._keras_tensor import KerasHistory, KerasTensor, flatten


class Node:
    """One call of ``operation``: ``args``/``kwargs`` as given, ``outputs`` as returned."""

    __slots__ = ("operation", "args", "kwargs", "outputs", "index")

    def __init__(self, operation: Any, args: tuple, kwargs: dict[str, Any], outputs: Any):
        self.operation = operation
        self.args = tuple(args)
        self.kwargs = dict(kwargs)
        self.outputs = outputs
        nodes = inbound_nodes(operation)
        self.index = len(nodes)
        nodes.append(self)
        for position, tensor in enumerate(self.output_tensors):
            tensor._keras_history = KerasHistory(operation, self.index, position)

    @property
    def input_tensors(self) -> list[KerasTensor]:
        """The KerasTensors among the call's arguments, in order."""
        leaves = flatten(list(self.args)) + flatten(list(self.kwargs.values()))
        return [leaf for leaf in leaves if isinstance(leaf, KerasTensor)]

    @property
    def output_tensors(self) -> list[KerasTensor]:
        return [leaf for leaf in flatten(self.outputs) if isinstance(leaf, KerasTensor)]

    @property
    def parent_nodes(self) -> list[Node]:
        """The nodes that made this node's inputs (each once, in order)."""
        found: dict[int, Node] = {}
        for tensor in self.input_tensors:
            parent = node_of(tensor)
            found.setdefault(id(parent), parent)
        return list(found.values())

    @property
    def is_input(self) -> bool:
        from gpukeras.layers._input import InputLayer

        return isinstance(self.operation, InputLayer)

    def __repr__(self) -> str:
        return f"<Node {getattr(self.operation, 'name', self.operation)}[{self.index}]>"


def inbound_nodes(operation: Any) -> list[Node]:
    """The nodes of ``operation`` (a layer's calls on KerasTensors), made on first use."""
    return operation.__dict__.setdefault("_inbound_nodes", [])


def node_of(tensor: KerasTensor) -> Node:
    """The node that made ``tensor``."""
    history = tensor._keras_history
    if history is None:
        raise ValueError(
            f"KerasTensor {tensor.name!r} was not made by keras.Input or by a layer or op "
            f"called on KerasTensors, so it has no place in a graph. Received: {tensor!r}"
        )
    return inbound_nodes(history.operation)[history.node_index]


class Operation:
    """A ``gpukeras.ops`` function called on KerasTensors: a graph node that is no layer.

    Args:
        function: The op (``gpukeras.ops.add``, ...), called again on the data.
        op_name: Its name; nodes are named ``add``, ``add_1``, ... as Keras names them.
    """

    trainable = True
    built = True

    def __init__(self, function: Any, op_name: str) -> None:
        self.function = function
        self.op_name = op_name
        self.name = unique_name(op_name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Operation {self.name} ({self.op_name})>"


class GraphAccessors:
    """``layer.input`` and ``layer.output``: the KerasTensors of its first call on
    KerasTensors, as Keras (the feature-extraction pattern reads ``get_layer(name).output``;
    a shared layer answers for its first call)."""

    __slots__ = ()

    @property
    def input(self) -> Any:
        return self._first_node("input").args[0]

    @property
    def output(self) -> Any:
        return self._first_node("output").outputs

    def _first_node(self, attribute: str) -> Node:
        nodes = self.__dict__.get("_inbound_nodes", [])
        if not nodes:
            raise AttributeError(
                f"The layer {self.name} has never been called and thus has no defined {attribute}."
            )
        return nodes[0]
