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
from merge_cases import MERGE_CASES, case_inputs  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "fixtures", "merge_layers.npz")


def main() -> None:
    arrays = {}
    rng = np.random.default_rng(0)
    for name in sorted(MERGE_CASES):
        class_name, kwargs, _ = MERGE_CASES[name]
        inputs = [a.astype(np.float32) for a in case_inputs(name, rng)]
        layer = getattr(keras.layers, class_name)(**kwargs)
        output, vjp = jax.vjp(lambda *xs, layer=layer: layer(list(xs)), *inputs)
        r = rng.normal(size=output.shape).astype(np.float32)
        grads = vjp(r)
        for i, x in enumerate(inputs):
            arrays[f"{name}/input{i}"] = x
            arrays[f"{name}/grad{i}"] = np.asarray(grads[i])
        arrays[f"{name}/output"] = np.asarray(output)
        arrays[f"{name}/r"] = r
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT}: {len(MERGE_CASES)} cases")


if __name__ == "__main__":
    main()
