"""The fused layer an ``RNN`` of one built-in cell runs on (``unroll=False``).

``RNN(LSTMCell(n))`` computes what ``LSTM(n)`` computes, so rather than loop the cell's
ops step by step it calls an ``LSTM`` whose weights ARE the cell's variables (the same
objects): the hand-written time loop and its fused kernels, one tape node per call.
``unroll=True``, a custom or stacked cell and ``recurrent_dropout`` (the fused layers
have none) loop the cell instead. A ``stateful`` RNN's twin is stateful itself and
carries the states.

The twin is held in a plain object, so neither weight tracking nor saving sees a layer:
the file layout stays Keras's (``<rnn>/cell/vars``).
"""

from __future__ import annotations

from typing import Any

from gpukeras.layers._gru import GRU
from gpukeras.layers._lstm import LSTM
from gpukeras.layers._simple_rnn import SimpleRNN
from gpukeras.layers.rnn._gru_cell import GRUCell
from gpukeras.layers.rnn._lstm_cell import LSTMCell
from gpukeras.layers.rnn._simple_rnn_cell import SimpleRNNCell

_FUSED = {SimpleRNNCell: SimpleRNN, LSTMCell: LSTM, GRUCell: GRU}
# Cell config keys that are not the fused layer's arguments.
_NOT_ARGUMENTS = ("name", "trainable", "dtype", "recurrent_dropout")


class FusedTwin:
    """Holds the fused layer (``layer``) sharing an RNN's cell variables."""

    __slots__ = ("layer",)

    def __init__(self, layer: Any) -> None:
        self.layer = layer


def fused_equivalent(rnn: Any, **overrides: Any) -> Any:
    """A new, unbuilt fused layer computing what ``rnn`` computes, or ``None`` when its
    cell has no fused twin (custom or stacked cells, ``recurrent_dropout``)."""
    cell = rnn.cell
    fused_class = _FUSED.get(type(cell))
    if fused_class is None or cell.recurrent_dropout:
        return None
    config = {k: v for k, v in cell.get_config().items() if k not in _NOT_ARGUMENTS}
    arguments = {
        "return_sequences": rnn.return_sequences,
        "return_state": rnn.return_state,
        "go_backwards": rnn.go_backwards,
        "zero_output_for_mask": rnn.zero_output_for_mask,
        "stateful": rnn.stateful,
        "name": rnn.name,
        "dtype": cell.dtype_policy.name,
        **overrides,
    }
    return fused_class(**config, **arguments)


def fused_twin(rnn: Any, input_shape: tuple[Any, ...]) -> FusedTwin | None:
    """A built twin for ``rnn`` (its cell already built), or ``None`` when it must loop."""
    if rnn.unroll:
        return None
    # An explicit name leaves the layer-name counters alone.
    layer = fused_equivalent(rnn, name=f"{rnn.name}_fused")
    if layer is None:
        return None
    cell = rnn.cell
    layer.ensure_built(tuple(input_shape))
    layer.kernel, layer.recurrent_kernel, layer.bias = cell.kernel, cell.recurrent_kernel, cell.bias
    layer._weights = list(cell._weights)
    return FusedTwin(layer)
