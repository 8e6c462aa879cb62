"""Adding a config's layers to a Sequential model in time linear in their number."""

from __future__ import annotations

from typing import Any

from gpukeras.layers import InputLayer, Layer
from gpukeras.saving._errors import FileFormatError


def add_all(model: Any, layers: list[Layer], label: str) -> None:
    """``model.add`` each layer, in time linear in their number.

    ``Sequential.add`` compares each new name with every earlier one and
    rebuilds the whole model after each layer: quadratic, minutes for a config
    of thousands of layers. The names are checked here with a set, the first
    layers go through ``add`` (which sets the input), and the rest are appended
    and built once.
    """
    seen: set[str] = set()
    for index, layer in enumerate(layers):
        if isinstance(layer, InputLayer) and index > 0:
            raise FileFormatError(
                f"Invalid Sequential config in {label}: an InputLayer can only be the first "
                f"layer. Received: {layer.name!r} at position {index}"
            )
        if not isinstance(layer, InputLayer):
            if layer.name in seen:
                raise FileFormatError(
                    f"Invalid Sequential config in {label}: layer names must be unique. "
                    f"Received: {layer.name!r} twice"
                )
            seen.add(layer.name)
    head = 2 if layers and isinstance(layers[0], InputLayer) else 1
    for layer in layers[:head]:
        model.add(layer)
    if len(layers) > head:
        model._layers.extend(layers[head:])
        model._invalidate()
        if model._input_layer is not None:
            model.build(model._input_layer.batch_shape)
