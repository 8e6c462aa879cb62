"""Which layers a model's weights files list, and models nested in models.

Keras 3's ``.weights.h5`` puts a model's layers at ``layers/<snake_case class>[_N]``, in
the order Keras's ``model.layers`` lists them: a Sequential's without its InputLayer, a
functional model's with its InputLayers (their groups hold no variables; a dict's
inputs and outputs walked by sorted key, see :func:`keras_layer_order`). A Sequential
or functional model used as a layer is written the same way inside its own group
(``layers/sequential/layers/dense/vars/0``) plus an empty ``vars``; a subclassed model
used as a layer follows ``_subclassed`` inside its group. The legacy layouts list the
same layers (``layer_names``), a nested model being one layer holding all its weights,
in Keras's legacy order: trainable weights, then non-trainable ones.
"""

from __future__ import annotations

from typing import Any

from gpukeras._naming import to_snake_case


def is_graph_model(layer: Any) -> bool:
    """A Sequential or functional model (whose layers, not attributes, decide its groups)."""
    from gpukeras.models import Sequential
    from gpukeras.saving._functional_write import is_functional_model

    return isinstance(layer, Sequential) or is_functional_model(layer)


def saved_layers(model: Any) -> list[Any]:
    """The model's layers as Keras's ``model.layers`` lists them (a Sequential's without
    its InputLayer, a functional model's with its InputLayers)."""
    from gpukeras.saving._functional_write import is_functional_model

    if is_functional_model(model):
        return keras_layer_order(model)
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def keras_layer_order(model: Any) -> list[Any]:
    """A functional model's layers in the order Keras lists them.

    Keras walks the graph from its outputs flattened with a dict's values by sorted key;
    gpukeras's graph keeps the dict's own order. The weight groups' keys (``dense``,
    ``dense_1``) follow this order, so a model with dict inputs or outputs whose keys are
    not sorted is listed from a graph walked Keras's way.
    """
    from gpukeras.layers import Layer
    from gpukeras.layers._keras_tensor import flatten
    from gpukeras.models.functional._graph import Graph
    from gpukeras.saving._functional_config import keras_order

    inputs, outputs = keras_order(model._inputs_struct), keras_order(model._outputs_struct)
    same = [id(t) for t in inputs + outputs] == [
        id(t) for t in flatten(model._inputs_struct) + flatten(model._outputs_struct)
    ]
    operations = model.operations if same else Graph(inputs, outputs).operations
    return [operation for operation in operations if isinstance(operation, Layer)]


def keras3_keys(layers: list[Any]) -> list[str]:
    """Keras 3's group names: snake_case class names, ``_1``, ``_2``, ... for repeats."""
    used: dict[str, int] = {}
    keys = []
    for layer in layers:
        base = to_snake_case(type(layer).__name__)
        count = used.get(base, -1) + 1
        used[base] = count
        keys.append(base if count == 0 else f"{base}_{count}")
    return keys


def legacy_weights(layer: Any) -> list[Any]:
    """A layer's weights in Keras's legacy ``.h5`` order: a model's layer by layer in
    Keras's order (:func:`saved_layers`), trainable ones first, then non-trainable ones
    (they differ from ``weights`` for a model whose layers are partly frozen)."""
    if not is_graph_model(layer):
        return list(layer.weights)
    ordered = _weights_in_keras_order(layer)
    trainable = {id(weight) for weight in layer.trainable_weights}
    return [w for w in ordered if id(w) in trainable] + [
        w for w in ordered if id(w) not in trainable
    ]


def _weights_in_keras_order(layer: Any) -> list[Any]:
    if not is_graph_model(layer):
        return list(layer.weights)
    found: dict[int, Any] = {}
    for sublayer in saved_layers(layer):
        for weight in _weights_in_keras_order(sublayer):
            found.setdefault(id(weight), weight)
    return list(found.values())
