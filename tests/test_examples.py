"""Each example runs as a user would run it, in its own process, on NumPy."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gpukeras.models") is None,
    reason="gpukeras.models (Sequential, fit) does not exist yet",
)


def run_example(name: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run examples/<name> and return its stdout; fail with its output if it fails."""
    full_env = {**os.environ, "GPUKERAS_BACKEND": "numpy", **(env or {})}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_mnist_mlp_reaches_90_percent_on_digits():
    output = run_example("mnist_mlp.py")
    accuracy = float(re.search(r"^Test accuracy: ([0-9.]+)$", output, re.M).group(1))
    assert accuracy > 0.9, output
    assert "Epoch 20/20" in output


def test_mnist_mlp_options_and_mnist_from_cache(tmp_path):
    rng = np.random.default_rng(0)
    np.savez_compressed(
        tmp_path / "mnist.npz",
        x_train=rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, 64, dtype=np.uint8),
        x_test=rng.integers(0, 256, (16, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 16, dtype=np.uint8),
    )
    output = run_example(
        "mnist_mlp.py", "--mnist", "--epochs", "2", "--batch-size", "16", "--seed", "3",
        "--mnist-file", str(tmp_path / "mnist.npz"),
    )  # fmt: skip
    assert "MNIST: 64 training and 16 test images" in output
    assert "Epoch 2/2" in output and "Epoch 3/" not in output
    assert re.search(r"^Test accuracy: [0-9.]+$", output, re.M)


def test_mnist_mlp_is_reproducible_with_a_seed():
    def final_lines(seed):
        output = run_example("mnist_mlp.py", "--epochs", "2", "--seed", seed)
        return re.findall(r"^Test (?:loss|accuracy): .*$", output, re.M)

    assert final_lines("5") == final_lines("5")


def test_seed_loss_history_prints_plain_float_losses():
    output = run_example("seed_loss_history.py")
    losses = ast.literal_eval(output.strip().splitlines()[-1])
    steps_per_epoch = -(-1437 // 128)
    assert len(losses) == 20 * steps_per_epoch
    assert all(type(loss) is float for loss in losses)
    # Keras 3 reaches about 1.2 from 2.3 here (batch loss = running mean of the epoch).
    assert losses[-1] < 0.75 * losses[0]


def test_seed_checkpoint_saves_the_best_model():
    started = time.time()
    output = run_example("seed_checkpoint.py")
    assert "saving model to /tmp/weights.hdf5" in output
    weights = Path("/tmp/weights.hdf5")
    assert weights.is_file() and weights.stat().st_mtime >= started - 1


def test_mnist_mlp_draws_its_training_curves(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    target = tmp_path / "curves.png"
    output = run_example("mnist_mlp.py", "--epochs", "2", "--plot", str(target))
    assert f"Training curves: {target}" in output
    assert target.read_bytes().startswith(b"\x89PNG")
