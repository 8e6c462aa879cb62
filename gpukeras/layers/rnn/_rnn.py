"""RNN: any cell looped over time, its gradient through time from the tape.

Masks follow Keras 3 as the fused layers do (see ``layers/_rnn_base.py``): at a masked
step the states carry over unchanged and the output repeats the previous output (zeros
with ``zero_output_for_mask``). With ``go_backwards`` the returned sequence is in
processing order. A ``stateful`` layer keeps its final states on the device, as plain
arrays outside the tape (no gradient flows from one batch into the previous one), and
starts the next call from them until :meth:`RNN.reset_states`.
"""

from __future__ import annotations

import copy
from typing import Any

from gpukeras import autodiff, ops
from gpukeras import backend as K
from gpukeras._custom_objects import current as current_custom_objects
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import deserialize, register, serialize
from gpukeras.layers._stateful_rnn import ResetStates, StatefulStates
from gpukeras.layers.rnn._fused_twin import FusedTwin, fused_twin
from gpukeras.layers.rnn._stacked_rnn_cells import (
    StackedRNNCells,
    cell_output_size,
    check_cell,
    initial_state_of,
)


@register
class RNN(ResetStates, Layer):
    """A recurrent layer made of a cell (Keras 3's ``keras.layers.RNN``).

    The cell computes one timestep, ``cell(inputs, states) -> (output, new_states)``: a
    built-in ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, a ``StackedRNNCells`` (or a
    list of cells), or a layer of your own with a ``state_size`` and a
    ``call(inputs, states)`` written with ``gpukeras.ops``.

    Example:
        ```python
        class MinimalCell(gpukeras.layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.units = self.state_size = units

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units))
                self.u = self.add_weight(shape=(self.units, self.units))

            def call(self, inputs, states):
                h = ops.tanh(ops.matmul(inputs, self.w) + ops.matmul(states[0], self.u))
                return h, [h]

        layer = gpukeras.layers.RNN(MinimalCell(8), return_sequences=True)
        ```

    Args:
        cell: The cell, or a list of cells (stacked). Required.
        return_sequences: Return every step's output, else the last; default ``False``.
        return_state: Also return the final states; default ``False``.
        go_backwards: Read the sequence backwards; default ``False``.
        stateful: Start each batch from the previous batch's final states (sample ``i``
            continues sample ``i``); needs a fixed batch size; default ``False``.
        unroll: ``False`` (default): a single built-in cell runs as the fused layer it
            is a step of (``RNN(LSTMCell(n))`` as ``LSTM(n)``, same variables, unless
            ``recurrent_dropout``); ``True``: the cell's ops step by step.
            Other cells always loop step by step.
        zero_output_for_mask: Masked steps output zeros instead of the previous output;
            default ``False``.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True

    def __init__(
        self,
        cell: Any,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        check_cell(cell, "cell")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        size = cell.state_size
        self.state_size = list(size) if isinstance(size, (list, tuple)) else [size]
        self._carried = StatefulStates(self) if self.stateful else None
        self._twin: FusedTwin | None = None

    # -- shapes and masks ------------------------------------------------------------
    def build(self, input_shape: Shape) -> None:
        shape = tuple(input_shape)
        if len(shape) < 3:
            raise ValueError(
                f"RNN {self.name!r} expects inputs of shape (batch, timesteps, features). "
                f"Received: input_shape={shape}"
            )
        if isinstance(self.cell, Layer):
            self.cell.ensure_built((shape[0], *shape[2:]))
        if self._carried is not None:
            self._carried.fix_batch_size(shape[0], shape)
        self._twin = fused_twin(self, shape)

    def compute_output_shape(self, input_shape: Shape) -> Any:
        batch, steps = tuple(input_shape)[:2]
        size = cell_output_size(self.cell)
        output = (batch, steps, size) if self.return_sequences else (batch, size)
        if not self.return_state:
            return output
        states = [
            [(batch, int(s)) for s in size] if isinstance(size, (list, tuple)) else (batch, size)
            for size in self.state_size
        ]
        return [output, *states]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    # -- the loop --------------------------------------------------------------------
    def call(
        self, sequences: Any, initial_state: Any = None, mask: Any = None, training: Any = None
    ) -> Any:
        batch = int(sequences.shape[0])
        if self._carried is not None:
            self._carried.check_batch(batch)
        if self._twin is not None:  # a built-in cell: the fused loop
            self._twin.layer.trainable = self.trainable and self.cell.trainable
            return self._twin.layer(
                sequences, initial_state=initial_state, mask=mask, training=training
            )
        states = self._initial_states(batch, initial_state)
        _reset_dropout_masks(self.cell)  # each call is new sequences
        outputs, states = self._loop(sequences, states, mask, training)
        _reset_dropout_masks(self.cell)
        if self._carried is not None:
            self._carried.keep(states)
        result = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [result, *states] if self.return_state else result

    def _loop(
        self, sequences: Any, states: list[Any], mask: Any, training: Any
    ) -> tuple[list[Any], list[Any]]:
        """The cell over every step, in processing order: each step's output, the final
        states. A masked step carries the states and repeats the previous output (zeros
        with ``zero_output_for_mask``)."""
        xp = K.array_module()
        mask = None if mask is None else K.to_device(mask)
        steps = int(sequences.shape[1])
        outputs: list[Any] = []
        previous = None
        for t in range(steps - 1, -1, -1) if self.go_backwards else range(steps):
            step = ops.getitem(sequences, (slice(None), t))
            output, new_states = self.cell(step, states=states, training=training)
            if not isinstance(new_states, (list, tuple)):
                new_states = [new_states]
            if mask is not None:
                keep = xp.asarray(mask[:, t], dtype=bool)[:, None]
                new_states = _tree_where(keep, list(new_states), states)
                if previous is None or self.zero_output_for_mask:
                    previous = xp.zeros(tuple(autodiff.unwrap(output).shape), self.compute_dtype)
                output = ops.where(keep, output, previous)
            states, previous = list(new_states), output
            outputs.append(output)
        return outputs, states

    def _initial_states(self, batch: int, given: Any) -> list[Any]:
        if given is not None:
            given = list(given) if isinstance(given, (list, tuple)) else [given]
            if len(given) != len(self.state_size):
                raise ValueError(
                    f"RNN {self.name!r}'s cell has {len(self.state_size)} state(s). "
                    f"Received: initial_state with {len(given)} item(s)"
                )
            return given
        if self._carried is not None and self._carried.values is not None:
            return list(self._carried.values)
        states = initial_state_of(self.cell, batch, self.compute_dtype)
        return list(states) if isinstance(states, (list, tuple)) else [states]

    # -- weights and configuration ---------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "cell": serialize(self.cell),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RNN:
        config = copy.deepcopy(config)
        config["cell"] = deserialize(config["cell"], current_custom_objects())
        return cls(**config)


def _reset_dropout_masks(cell: Any) -> None:
    """New dropout masks for the next sequence, in the cell and in stacked cells."""
    if hasattr(cell, "reset_dropout_mask"):
        cell.reset_dropout_mask()
    for inner in getattr(cell, "cells", None) or ():
        _reset_dropout_masks(inner)


def _tree_where(keep: Any, new: Any, old: Any) -> Any:
    """``where(keep, new, old)`` over matching (possibly nested) lists of states."""
    if isinstance(new, (list, tuple)):
        return [_tree_where(keep, n, o) for n, o in zip(new, old)]
    return ops.where(keep, new, old)
