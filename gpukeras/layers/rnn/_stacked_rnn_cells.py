"""StackedRNNCells: several cells run one after another within each timestep."""

from __future__ import annotations

import copy
from typing import Any

from gpukeras import backend as K
from gpukeras._custom_objects import current as current_custom_objects
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import deserialize, register, serialize


@register
class StackedRNNCells(Layer):
    """Cells stacked so that one ``RNN`` runs them all (Keras 3's ``StackedRNNCells``).

    Each step feeds the input to the first cell, its output to the next, and so on; the
    state is the list of the cells' states.

    Example:
        ```python
        cells = [gpukeras.layers.LSTMCell(8), gpukeras.layers.LSTMCell(4)]
        layer = gpukeras.layers.RNN(gpukeras.layers.StackedRNNCells(cells))
        ```

    Args:
        cells: List of cells (objects with ``call(inputs, states)`` and ``state_size``).
            Required.
        **kwargs: :class:`Layer` arguments.
    """

    def __init__(self, cells: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells needs a list of cells. Received: cells={cells!r}")
        for cell in cells:
            check_cell(cell, "cells")
        self.cells = list(cells)

    @property
    def state_size(self) -> list[Any]:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return cell_output_size(self.cells[-1])

    def build(self, input_shape: Shape) -> None:
        batch = tuple(input_shape)[0]
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell.ensure_built(tuple(input_shape))
            input_shape = (batch, cell_output_size(cell))

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        return [initial_state_of(cell, batch_size, self.compute_dtype) for cell in self.cells]

    def call(self, inputs: Any, states: Any, training: Any = None) -> tuple[Any, Any]:
        new_states = []
        for cell, state in zip(self.cells, states):
            was_list = isinstance(state, (list, tuple))
            inputs, state = cell(
                inputs, states=list(state) if was_list else [state], training=training
            )
            if not was_list and isinstance(state, (list, tuple)) and len(state) == 1:
                state = state[0]
            new_states.append(state)
        return inputs, new_states[0] if len(new_states) == 1 else new_states

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cells": [serialize(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StackedRNNCells:
        config = copy.deepcopy(config)
        objects = current_custom_objects()
        config["cells"] = [deserialize(entry, objects) for entry in config["cells"]]
        return cls(**config)


def check_cell(cell: Any, argument: str) -> None:
    """Refuse an object that is not a cell (Keras: ``call`` and ``state_size``)."""
    for needed in ("call", "state_size"):
        if not hasattr(cell, needed):
            raise ValueError(
                f"A recurrent cell must have a `call(inputs, states)` method and a "
                f"`state_size` attribute; this one has no `{needed}`. "
                f"Received: {argument}={cell!r}"
            )


def cell_output_size(cell: Any) -> int:
    """``cell.output_size``, else the size of its first state (Keras's rule)."""
    size = getattr(cell, "output_size", None)
    if size is not None:
        return int(size)
    state_size = cell.state_size
    return int(state_size[0] if isinstance(state_size, (list, tuple)) else state_size)


def initial_state_of(cell: Any, batch_size: int | None, dtype: str) -> Any:
    """The cell's ``get_initial_state``, else zeros shaped by its ``state_size``."""
    if hasattr(cell, "get_initial_state"):
        return cell.get_initial_state(batch_size=batch_size)
    xp = K.array_module()
    size = cell.state_size
    if isinstance(size, (list, tuple)):
        return [xp.zeros((batch_size, int(d)), dtype=dtype) for d in size]
    return xp.zeros((batch_size, int(size)), dtype=dtype)
