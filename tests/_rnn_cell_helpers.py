"""Shared pieces of the RNN(cell) tests: the Keras-made fixture and its cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpukeras import layers, ops
from tests.fixtures.rnn_cell_cases import CASES

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "rnn_cells.npz")
# Cases of one built-in cell: without unroll they run as the fused layer.
FUSED_CASES = {
    "simple",
    "simple_relu_sequences",
    "lstm_sequences_backwards",
    "lstm_state_masked",
    "gru",
    "gru_reset_before",
    "zero_output_for_mask",
}


def keras_case(name: str, unroll: bool = False):
    """Case ``name`` built with the fixture's weights: ``(layer, x, mask or None)``."""
    make, masked = CASES[name]
    layer = make(layers, ops)
    layer.unroll = unroll  # True: the cell's ops step by step, never the fused layer
    x = FIXTURE[f"{name}/x"]
    layer(x)
    count = len(layer.weights)
    layer.set_weights([FIXTURE[f"{name}/weight{i}"] for i in range(count)])
    mask = FIXTURE[f"{name}/mask"] if masked else None
    return layer, x, mask
