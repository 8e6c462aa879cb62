"""Write tests/fixtures/activation_layers.npz: Keras 3's activation layers on fixed inputs.

Keras 3 has no ThresholdedReLU; Keras 2's ``ThresholdedReLU(theta)`` is its
``ReLU(threshold=theta)``, which is what the fixture stores for it. Run offline, from
the repository root:

    KERAS_BACKEND=jax /work/kerasref/bin/python tests/make_activation_layer_fixtures.py
"""

from __future__ import annotations

import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "fixtures", "activation_layers.npz")
#: name -> (Keras 3 class, its arguments); gpukeras builds the same from ``CASES``.
CASES = {
    "leaky_relu": ("LeakyReLU", {"negative_slope": 0.1}),
    "elu": ("ELU", {"alpha": 0.5}),
    "relu_all": ("ReLU", {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}),
    "relu6": ("ReLU", {"max_value": 6.0}),
    "thresholded": ("ReLU", {"threshold": 1.0}),
    "softmax_1": ("Softmax", {"axis": 1}),
    "softmax_12": ("Softmax", {"axis": [1, 2]}),
    "prelu": ("PReLU", {"alpha_initializer": {"class_name": "Constant", "config": {"value": 0.25}},
                        "shared_axes": [1]}),
}  # fmt: skip
MASK = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], dtype=bool)


def main() -> None:
    import keras

    x = np.random.default_rng(0).normal(scale=3.0, size=(2, 3, 4)).astype("float32")
    arrays = {"x": x}
    configs = {}
    for name, (class_name, kwargs) in CASES.items():
        layer = getattr(keras.layers, class_name)(**kwargs)
        arrays[name] = np.asarray(layer(x))
        configs[name] = {k: v for k, v in layer.get_config().items() if k not in ("name",)}
    masked = keras.layers.Softmax(axis=-1)
    arrays["softmax_masked"] = np.asarray(masked(x, mask=MASK[:, None, :]))
    arrays["configs"] = np.array(json.dumps(configs, default=str))
    np.savez_compressed(OUT, **arrays)


if __name__ == "__main__":
    main()
