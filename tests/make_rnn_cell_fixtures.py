"""Write tests/fixtures/rnn_cells.npz: each case of tests/fixtures/rnn_cell_cases.py run
by real Keras 3 on JAX: its input, mask, weights (random, so no initializer matters) and
every output array. Run offline, from the repository root:

    KERAS_BACKEND=jax /work/kerasref/bin/python tests/make_rnn_cell_fixtures.py
"""

from __future__ import annotations

import os
import sys

import numpy as np
from keras import layers, ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from rnn_cell_cases import CASES, INPUT_SHAPE, flat  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "fixtures", "rnn_cells.npz")


def main() -> None:
    arrays = {}
    rng = np.random.default_rng(0)
    for name in sorted(CASES):
        make, masked = CASES[name]
        layer = make(layers, ops)
        x = rng.normal(size=INPUT_SHAPE).astype(np.float32)
        mask = np.ones(INPUT_SHAPE[:2], dtype=bool)
        if masked:
            mask[0, -2:] = False
        layer(x)
        weights = [rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in layer.weights]
        layer.set_weights(weights)
        outputs = flat(layer(x, mask=mask) if masked else layer(x))
        arrays[f"{name}/x"] = x
        arrays[f"{name}/mask"] = mask
        for i, w in enumerate(weights):
            arrays[f"{name}/weight{i}"] = w
        for i, y in enumerate(outputs):
            arrays[f"{name}/output{i}"] = np.asarray(y)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT}: {len(CASES)} cases")


if __name__ == "__main__":
    main()
