"""examples/mnist_cnn.py runs as a user would run it, in its own process, on NumPy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mnist_cnn.py"


def run_example(*args: str, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, "GPUKERAS_BACKEND": "numpy", **(env or {})}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
    assert result.returncode == 0, f"mnist_cnn.py failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_mnist_cnn_reaches_90_percent_on_digits():
    output = run_example("--epochs", "6")
    accuracy = float(re.search(r"^Test accuracy: ([0-9.]+)$", output, re.M).group(1))
    assert accuracy > 0.9, output
    assert "Epoch 6/6" in output and "UCI digits (8x8)" in output


def test_mnist_cnn_on_mnist_shaped_data(tmp_path):
    rng = np.random.default_rng(0)
    np.savez_compressed(
        tmp_path / "mnist.npz",
        x_train=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, 40, dtype=np.uint8),
        x_test=rng.integers(0, 256, (8, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 8, dtype=np.uint8),
    )
    path = str(tmp_path / "mnist.npz")  # an absolute path: read as given, no download
    output = run_example("--mnist-path", path, "--epochs", "2", "--batch-size", "16")
    assert "MNIST: 40 training and 8 test images" in output
    assert "Epoch 2/2" in output
    assert re.search(r"^Test accuracy: [0-9.]+$", output, re.M)
