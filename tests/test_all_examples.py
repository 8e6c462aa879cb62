"""Every script in examples/ runs to the end with short settings, so none of them rots.

Examples are found by globbing: a new one is picked up without editing this file. It then
runs with no arguments, so it must finish within the time limit as it is, or be given short
settings in SHORT_SETTINGS. Each must open with a docstring saying what it shows. The
longer, output-checking tests of some examples live in test_examples.py and friends.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
TIME_LIMIT_S = 120  # per script; each takes a few seconds on one core

# Command-line arguments that make an example quick (its defaults train for longer).
SHORT_SETTINGS: dict[str, list[str]] = {
    "custom_callback.py": ["--epochs", "4"],
    "custom_layer.py": ["--epochs", "2"],
    "custom_model.py": ["--epochs", "2"],
    "early_stopping.py": ["--epochs", "8", "--patience", "2"],
    "mnist_cnn.py": ["--epochs", "1"],
    "mnist_mlp.py": ["--epochs", "2"],
    "mnist_mlp_distributed.py": ["--epochs", "2"],  # one process: no mpiexec
    "resume_after_kill.py": ["--epochs", "2"],
    "save_and_open_in_keras.py": ["--epochs", "2"],
    "sequence_lstm.py": ["--epochs", "1", "--samples", "600"],
}

# What the output must say: the point each example makes.
EXPECTED_OUTPUT: dict[str, str] = {
    "custom_callback.py": r"Batch losses recorded: \d+",
    "custom_layer.py": r"The wrong variant is caught: gradient of forgetful/c",
    "custom_model.py": r"Device reads during fit: 2 for 2 epochs[\s\S]*identical: yes",
    "early_stopping.py": r"Restored the best epoch's weights: yes",
    "mnist_mlp.py": r"Test accuracy: [0-9.]+",
    "resume_after_kill.py": r"identical to the unbroken run's: yes",
    "save_and_open_in_keras.py": r"one more epoch: reloaded vs original\s+identical",
}

# Modules an example needs beyond the test extra, and why it is skipped without them.
NEEDS: dict[str, tuple[str, str]] = {
    "mnist_mlp_distributed.py": ("mpi4py", "needs mpi4py (pip install 'gpukeras[mpi]')"),
}


def test_examples_are_found():
    assert len(SCRIPTS) >= 11, [p.name for p in SCRIPTS]
    assert not set(SHORT_SETTINGS) - {p.name for p in SCRIPTS}, "settings for a missing example"


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_example_runs(script: Path, tmp_path: Path):
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert docstring and len(docstring.split()) >= 8, f"{script.name} must say what it shows"
    module, reason = NEEDS.get(script.name, (None, ""))
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(reason)
    env = {
        **os.environ,
        "GPUKERAS_BACKEND": "numpy",
        "MPLBACKEND": "Agg",
        # Two shared cores: BLAS threads would only fight each other.
        **{name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    result = subprocess.run(
        [sys.executable, str(script), *SHORT_SETTINGS.get(script.name, [])],
        cwd=tmp_path,  # whatever an example writes into the working folder lands here
        capture_output=True,
        text=True,
        env=env,
        timeout=TIME_LIMIT_S,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{script.name} failed:\n{output[-4000:]}"
    assert result.stdout.strip(), f"{script.name} printed nothing"
    assert "Traceback" not in result.stderr, output[-4000:]
    expected = EXPECTED_OUTPUT.get(script.name)
    if expected:
        assert re.search(expected, result.stdout), f"{script.name}:\n{result.stdout[-4000:]}"
