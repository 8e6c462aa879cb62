"""``layers.RNN`` and its cells: one timestep written with ops, looped over time."""

from gpukeras.layers.rnn._gru_cell import GRUCell
from gpukeras.layers.rnn._lstm_cell import LSTMCell
from gpukeras.layers.rnn._rnn import RNN
from gpukeras.layers.rnn._simple_rnn_cell import SimpleRNNCell
from gpukeras.layers.rnn._stacked_rnn_cells import StackedRNNCells

__all__ = ["GRUCell", "LSTMCell", "RNN", "SimpleRNNCell", "StackedRNNCells"]
