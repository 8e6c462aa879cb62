"""Write tests/fixtures/metrics_keras.json: the stateful metrics of tests/metrics_cases.py run
by Keras 3 on JAX. For each case it stores the metric's name and ``get_config()``, and for each
batch ``result()`` after it and the batch's input sum (the inputs come from
``metrics_cases.make_batches``; the sum shows both sides saw the same). Run offline, from the
repository root:

    KERAS_BACKEND=jax /work/kerasref/bin/python tests/make_metrics_fixtures.py
"""

from __future__ import annotations

import json
import os
import sys

import keras
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import metrics_cases  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "fixtures", "metrics_keras.json")


def main() -> None:
    cases = {}
    for seed, (case_id, class_name, config, kind, weighted) in enumerate(metrics_cases.CASES):
        metric = getattr(keras.metrics, class_name)(**config)
        steps = []
        cases[case_id] = {"name": metric.name, "config": metric.get_config(), "steps": steps}
        for y_true, y_pred, weights in metrics_cases.make_batches(kind, seed):
            metric.update_state(y_true, y_pred, sample_weight=weights if weighted else None)
            result = np.asarray(metric.result(), dtype=np.float64)
            steps.append(
                {
                    "input_sum": metrics_cases.input_sum(y_true, y_pred, weights),
                    "result": result.tolist(),
                }
            )
    with open(OUT, "w") as f:
        json.dump(cases, f, indent=0, default=lambda value: np.asarray(value).tolist())
        f.write("\n")
    print(f"wrote {OUT}: {len(metrics_cases.CASES)} cases")


if __name__ == "__main__":
    main()
