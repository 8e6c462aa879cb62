"""Write tests/fixtures/merge_layers.npz: each case of tests/fixtures/merge_cases.py run
by real Keras 3 on JAX: the inputs, the output, and the gradient of ``sum(output * r)``
for a fixed random ``r`` with respect to each input (``jax.vjp``). Run offline, from the
repository root:

    KERAS_BACKEND=jax /work/kerasref/bin/python tests/make_merge_fixtures.py
"""

from __future__ import annotations

import os
import sys

import jax
import keras
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from merge_cases import (  # noqa: E402
    MASKED,
    MERGE_CASES,
    TRAINING,
    branches_model_class,
    case_inputs,
)

OUT = os.path.join(os.path.dirname(__file__), "fixtures", "merge_layers.npz")


def _masked(layer, inputs):
    """A functional model feeding each input through Masking(0.0) into ``layer``: Keras
    passes masks to merge layers only along graph edges."""
    symbolic = [keras.Input(x.shape[1:]) for x in inputs]
    output = layer([keras.layers.Masking(0.0)(x) for x in symbolic])
    return keras.Model(symbolic, output)


def _training(rng):
    """Per-epoch losses of the branches model (SGD, no shuffling) from random weights."""
    t = TRAINING
    x = rng.normal(size=(t["samples"], t["features"])).astype(np.float32)
    y = rng.normal(size=(t["samples"], 1)).astype(np.float32)
    model = branches_model_class(keras)()
    model(x[:2])
    weights = [rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in model.weights]
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(t["learning_rate"]), loss="mse")
    history = model.fit(
        x, y, batch_size=t["batch_size"], epochs=t["epochs"], shuffle=False, verbose=0
    )
    arrays = {"training/x": x, "training/y": y}
    arrays.update({f"training/weight{i}": w for i, w in enumerate(weights)})
    arrays["training/losses"] = np.asarray(history.history["loss"])
    arrays["training/final0"] = np.asarray(model.weights[0])
    return arrays


def main() -> None:
    arrays = {}
    rng = np.random.default_rng(0)
    for name in sorted(MERGE_CASES):
        class_name, kwargs, _ = MERGE_CASES[name]
        inputs = [a.astype(np.float32) for a in case_inputs(name, rng)]
        layer = getattr(keras.layers, class_name)(**kwargs)
        function = _masked(layer, inputs) if name in MASKED else layer
        output, vjp = jax.vjp(lambda *xs, f=function: f(list(xs)), *inputs)
        r = rng.normal(size=output.shape).astype(np.float32)
        grads = vjp(r)
        for i, x in enumerate(inputs):
            arrays[f"{name}/input{i}"] = x
            arrays[f"{name}/grad{i}"] = np.asarray(grads[i])
        arrays[f"{name}/output"] = np.asarray(output)
        arrays[f"{name}/r"] = r
    arrays.update(_training(rng))
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT}: {len(MERGE_CASES)} cases")


if __name__ == "__main__":
    main()
