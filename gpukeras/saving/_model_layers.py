"""Which layers a model's weights files list, and models nested in models.

Keras 3's ``.weights.h5`` puts a model's layers at ``layers/<snake_case class>[_N]``, in
the order ``model.layers`` lists them: a Sequential's without its InputLayer, a
functional model's with its InputLayers (their groups hold no variables). A Sequential
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
        return list(model.layers)
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


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
    """A layer's weights in Keras's legacy ``.h5`` order: trainable, then non-trainable
    (they differ from ``weights`` for a model whose layers are partly frozen)."""
    if not is_graph_model(layer):
        return list(layer.weights)
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)
