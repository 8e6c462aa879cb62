"""Run by the reference Keras (never imported by gpukeras): load files, predict, save the results.

    KERAS_BACKEND=jax $GPUKERAS_KERAS_PYTHON tests/keras_reference_predict.py JOBS.json

JOBS.json is a list of ``{"model": path, "weights": path or null, "inputs": npz, "out": npz}``:
each model file is loaded with ``keras.saving.load_model`` (then ``load_weights`` from
``weights`` when given), run with ``predict`` on the arrays ``x0``, ``x1``, ... of
``inputs``, and its outputs (a dict's by sorted key) are saved as ``y0``, ``y1``, ... in
``out``. A job that fails writes ``error`` (the message) instead, so the test can show
Keras's reason.
"""

from __future__ import annotations

import json
import sys
import traceback

import keras
import numpy as np


def run(job: dict) -> None:
    try:
        model = keras.saving.load_model(job["model"], compile=False)
        if job.get("weights"):
            model.load_weights(job["weights"])
        with np.load(job["inputs"]) as data:
            inputs = [data[f"x{i}"] for i in range(len(data.files))]
        outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        if isinstance(outputs, dict):
            outputs = [outputs[key] for key in sorted(outputs)]
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        np.savez(job["out"], **{f"y{i}": np.asarray(y) for i, y in enumerate(outputs)})
    except Exception:  # the test reports Keras's traceback
        np.savez(job["out"], error=np.array(traceback.format_exc()))


if __name__ == "__main__":
    with open(sys.argv[1]) as file:
        for job in json.load(file):
            run(job)
