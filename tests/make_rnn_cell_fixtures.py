"""Write tests/fixtures/rnn_cells.npz: each case of tests/fixtures/rnn_cell_cases.py run
by real Keras 3 on JAX: its input, mask, weights (random, so no initializer matters) and
every output array. Also a Sequential of RNN(cell) layers saved by Keras
(keras_rnn_cells.keras and .weights.h5) with its predictions (``model/x``, ``model/y``),
per-epoch training losses (``training/*``) and Bidirectional(RNN(cell)) layers
(keras_bidirectional_cells.keras, ``bidirectional/*``).
Run offline, from the repository root:

    KERAS_BACKEND=jax /work/kerasref/bin/python tests/make_rnn_cell_fixtures.py
"""

from __future__ import annotations

import os
import sys

import numpy as np
from keras import layers, ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from rnn_cell_cases import CASES, INPUT_SHAPE, TRAINING, flat, training_model  # noqa: E402

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
    arrays.update(_saved_model(rng))
    arrays.update(_training(rng))
    arrays.update(_bidirectional(rng))
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT}: {len(CASES)} cases")


def _training(rng):
    """Per-epoch losses of stacked and custom cells (SGD, no shuffling), random weights."""
    import keras

    t = TRAINING
    x = rng.normal(size=(t["samples"], 5, 4)).astype(np.float32)
    y = rng.normal(size=(t["samples"], 1)).astype(np.float32)
    model = training_model(keras, ops)
    weights = [rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in model.weights]
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(t["learning_rate"]), loss="mse")
    history = model.fit(
        x, y, batch_size=t["batch_size"], epochs=t["epochs"], shuffle=False, verbose=0
    )
    arrays = {"training/x": x, "training/y": y}
    arrays.update({f"training/weight{i}": w for i, w in enumerate(weights)})
    arrays["training/losses"] = np.asarray(history.history["loss"])
    return arrays


def _bidirectional(rng):
    """Bidirectional(RNN(LSTMCell)) saved by Keras, with its predictions."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((5, 4)),
            layers.Bidirectional(layers.RNN(layers.LSTMCell(3), return_sequences=True)),
            layers.Bidirectional(layers.RNN(layers.GRUCell(2)), merge_mode="sum"),
        ]
    )
    x = rng.normal(size=(3, 5, 4)).astype(np.float32)
    model.save(os.path.join(os.path.dirname(OUT), "keras_bidirectional_cells.keras"))
    return {"bidirectional/x": x, "bidirectional/y": np.asarray(model.predict(x, verbose=0))}


def _saved_model(rng):
    import keras

    model = keras.Sequential(
        [
            keras.Input((5, 4)),
            layers.RNN([layers.LSTMCell(4), layers.GRUCell(3)], return_sequences=True),
            layers.RNN(layers.SimpleRNNCell(3), go_backwards=True),
            layers.Dense(2),
        ]
    )
    x = rng.normal(size=(3, 5, 4)).astype(np.float32)
    base = os.path.join(os.path.dirname(OUT), "keras_rnn_cells")
    model.save(base + ".keras")
    model.save_weights(base + ".weights.h5")
    return {"model/x": x, "model/y": np.asarray(model.predict(x, verbose=0))}


if __name__ == "__main__":
    main()
