"""Running the reference Keras from a test: GPUKERAS_KERAS_PYTHON names its interpreter.

Tests that need it are skipped when the variable is unset or that interpreter cannot
import keras (CI without it still passes). Locally:
    GPUKERAS_KERAS_PYTHON=/work/kerasref/bin/python pytest tests/test_functional_saving.py
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REFERENCE_ENV_VAR = "GPUKERAS_KERAS_PYTHON"  # as the other Keras checks (tests/test_saving.py)
_PREDICT_SCRIPT = Path(__file__).with_name("keras_reference_predict.py")


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["KERAS_BACKEND"] = "jax"
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


@functools.lru_cache(maxsize=1)
def _reference_python() -> str | None:
    python = os.environ.get(REFERENCE_ENV_VAR)
    if not python or not os.path.isfile(python):
        return None
    probe = subprocess.run(
        [python, "-c", "import keras"], env=_environment(), capture_output=True, timeout=300
    )
    return python if probe.returncode == 0 else None


def reference_python() -> str:
    """The reference interpreter, or skip the test."""
    python = _reference_python()
    if python is None:
        pytest.skip(f"no reference Keras: set {REFERENCE_ENV_VAR} to a Python with keras 3")
    return python


def run_keras_predictions(jobs: list[dict[str, Any]], folder: Path) -> list[list[np.ndarray]]:
    """Keras's outputs for each job of ``tests/keras_reference_predict.py`` (``model``,
    ``weights``, ``inputs``, ``out``); a job Keras failed fails the test with its reason."""
    python = reference_python()
    jobs_file = Path(folder) / "keras_jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    done = subprocess.run(
        [python, str(_PREDICT_SCRIPT), str(jobs_file)],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(folder),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = []
    for job in jobs:
        with np.load(job["out"]) as data:
            if "error" in data.files:
                pytest.fail(f"Keras could not use {job}:\n{data['error']}")
            results.append([data[f"y{i}"] for i in range(len(data.files))])
    return results


__all__ = ["REFERENCE_ENV_VAR", "reference_python", "run_keras_predictions"]
