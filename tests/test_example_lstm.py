"""examples/sequence_lstm.py runs as a user would run it and learns its task."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sequence_lstm.py"


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "GPUKERAS_BACKEND": "numpy"},
        timeout=120,
    )
    assert result.returncode == 0, f"sequence_lstm.py failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_sequence_lstm_learns_ascending_order_with_short_settings():
    output = run("--epochs", "8", "--samples", "4000", "--seed", "2")
    accuracy = float(re.search(r"Test accuracy: ([0-9.]+)", output).group(1))
    assert accuracy >= 0.95, output
    assert "Epoch 8/8" in output


def test_sequence_lstm_data_is_labelled_correctly():
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("sequence_lstm", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tokens, labels = module.make_sequences(300, np.random.default_rng(0))
    assert 0.4 < labels.mean() < 0.6
    for row, label in zip(tokens, labels):
        digits = row[row > 0] - 1
        assert module.MIN_LENGTH <= len(digits) <= module.MAX_LENGTH
        assert np.all(row[len(digits) :] == 0)  # padding only at the end
        assert label == int(np.all(np.diff(digits) >= 0))
