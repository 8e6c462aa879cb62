"""Write small functional-model files with the reference Keras, for the functional saving tests.

Run with the reference Keras (never at test time):
    KERAS_BACKEND=jax /work/kerasref/bin/python tests/make_functional_saving_fixtures.py [NAME ...]

(with names, only those models' files are written and their predictions replaced).

Writes to tests/fixtures/functional/, for each model NAME below: NAME.keras (model.save),
NAME.h5 (legacy HDF5 model.save), NAME.weights.h5 (model.save_weights, Keras 3 layout), and
one predictions.npz holding, per model, its input batch (``NAME/x0``, ``NAME/x1``, ...) and
Keras's predictions for it (``NAME/y0``, ``NAME/y1``, ...):

- two_io: 2 inputs, 2 outputs, a Dense shared by both branches; compiled with per-output
  losses, loss weights and metrics and trained one epoch (the optimizer has state);
- residual: a residual block (``Add`` of the input and two Dense layers);
- inception: Conv2D 1x1, Conv2D 3x3 and MaxPooling2D branches joined by ``Concatenate``;
- siamese: two inputs through the same two Dense layers, ``Dot(axes=1, normalize=True)``;
- nested_sequential / nested_functional: a frozen base model (Sequential / functional)
  called as a layer, with a new Dense head;
- features: feature extraction, ``Model(full.input, full.get_layer("features").output)``;
- dict_outputs / nested_dict_outputs: outputs given as a dict with unsorted keys (Keras
  numbers a call's outputs and lists layers by sorted key), at the top and nested.

Models are tiny so the committed files stay small.
"""

from __future__ import annotations

import os
import sys
import warnings

import keras
import numpy as np
from keras import layers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "functional")
BATCH = 3


def two_io() -> keras.Model:
    left = keras.Input((4,), name="left")
    right = keras.Input((3,), name="right")
    shared = layers.Dense(5, activation="tanh", name="shared")
    a = shared(layers.Dense(4, name="left_proj")(left))
    b = shared(layers.Dense(4, name="right_proj")(right))
    joined = layers.Add(name="join")([a, b])
    cls = layers.Dense(3, activation="softmax", name="cls")(joined)
    reg = layers.Dense(1, name="reg")(b)
    model = keras.Model([left, right], [cls, reg], name="two_io")
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss={"cls": "categorical_crossentropy", "reg": "mse"},
        loss_weights={"cls": 1.0, "reg": 0.5},
        metrics={"cls": ["accuracy"], "reg": ["mae"]},
    )
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 3)).astype("float32")]
    y = {
        "cls": np.eye(3, dtype="float32")[rng.integers(0, 3, 8)],
        "reg": rng.normal(size=(8, 1)).astype("float32"),
    }
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    return model


def residual() -> keras.Model:
    inp = keras.Input((6,), name="x")
    h = layers.Dense(6, activation="relu", name="block_1")(inp)
    h = layers.Dense(6, name="block_2")(h)
    h = layers.Add(name="skip")([inp, h])
    h = layers.Activation("relu", name="after_skip")(h)
    return keras.Model(inp, layers.Dense(2, name="head")(h), name="residual")


def inception() -> keras.Model:
    inp = keras.Input((5, 5, 2), name="image")
    one = layers.Conv2D(2, 1, activation="relu", name="tower_1x1")(inp)
    three = layers.Conv2D(3, 3, padding="same", activation="relu", name="tower_3x3")(inp)
    pool = layers.MaxPooling2D(3, strides=1, padding="same", name="tower_pool")(inp)
    mixed = layers.Concatenate(axis=-1, name="mixed")([one, three, pool])
    flat = layers.Flatten(name="flat")(mixed)
    return keras.Model(inp, layers.Dense(2, name="head")(flat), name="inception")


def siamese() -> keras.Model:
    first = keras.Input((4,), name="first")
    second = keras.Input((4,), name="second")
    hidden = layers.Dense(5, activation="relu", name="embed_hidden")
    embed = layers.Dense(3, name="embed")
    a = embed(hidden(first))
    b = embed(hidden(second))
    similarity = layers.Dot(axes=1, normalize=True, name="cosine")([a, b])
    return keras.Model([first, second], similarity, name="siamese")


def _head(base: keras.Model, name: str) -> keras.Model:
    base.trainable = False
    inp = keras.Input((4,), name="x")
    features = base(inp)
    out = layers.Dense(2, activation="softmax", name="new_head")(features)
    return keras.Model(inp, out, name=name)


def nested_sequential() -> keras.Model:
    base = keras.Sequential(
        [keras.Input((4,)), layers.Dense(6, activation="relu"), layers.Dense(5)],
        name="base_seq",
    )
    return _head(base, "nested_sequential")


def nested_functional() -> keras.Model:
    inp = keras.Input((4,), name="base_in")
    h = layers.Dense(6, activation="relu", name="base_hidden")(inp)
    h = layers.Dense(5, name="base_out")(h)
    return _head(keras.Model(inp, h, name="base_fn"), "nested_functional")


def features() -> keras.Model:
    inp = keras.Input((6,), name="x")
    h = layers.Dense(5, activation="relu", name="hidden")(inp)
    h = layers.Dense(4, activation="tanh", name="features")(h)
    full = keras.Model(inp, layers.Dense(2, name="classifier")(h), name="full")
    return keras.Model(full.input, full.get_layer("features").output, name="features")


def dict_outputs() -> keras.Model:
    x = keras.Input((3,), name="x")
    hidden = layers.Dense(5, activation="relu", name="hidden")(x)
    outputs = {"reg": layers.Dense(1, name="reg")(hidden), "cls": layers.Dense(3, name="cls")(x)}
    return keras.Model(x, outputs, name="dict_outputs")


def nested_dict_outputs() -> keras.Model:
    i = keras.Input((3,), name="i")
    inner = keras.Model(
        i,
        {"zeta": layers.Dense(2, name="dz")(i), "alpha": layers.Dense(4, name="da")(i)},
        name="inner",
    )
    x = keras.Input((3,), name="x")
    out = inner(x)
    heads = [layers.Dense(1, name="hz")(out["zeta"]), layers.Dense(1, name="ha")(out["alpha"])]
    return keras.Model(x, heads, name="nested_dict_outputs")


MODELS = {
    "two_io": two_io,
    "residual": residual,
    "inception": inception,
    "siamese": siamese,
    "nested_sequential": nested_sequential,
    "nested_functional": nested_functional,
    "features": features,
    "dict_outputs": dict_outputs,
    "nested_dict_outputs": nested_dict_outputs,
}


def main(names: list[str]) -> None:
    """Write every model's files, or only those of ``names`` (the other models' files and
    predictions stay as they are)."""
    keras.utils.set_random_seed(0)
    os.makedirs(OUT, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    predictions = os.path.join(OUT, "predictions.npz")
    if names and os.path.exists(predictions):
        with np.load(predictions) as saved:
            arrays = {key: saved[key] for key in saved.files if key.split("/")[0] not in names}
    rng = np.random.default_rng(0)
    for name, build in MODELS.items():
        if names and name not in names:
            continue
        model = build()
        inputs = [
            rng.normal(size=(BATCH, *tensor.shape[1:])).astype("float32") for tensor in model.inputs
        ]
        outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        if isinstance(outputs, dict):  # by sorted key, as the tests read a dict's outputs
            outputs = [outputs[key] for key in sorted(outputs)]
        outputs = outputs if isinstance(outputs, list) else [outputs]
        for index, value in enumerate(inputs):
            arrays[f"{name}/x{index}"] = value
        for index, value in enumerate(outputs):
            arrays[f"{name}/y{index}"] = np.asarray(value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras's "legacy HDF5" notice
            model.save(os.path.join(OUT, f"{name}.keras"))
            model.save(os.path.join(OUT, f"{name}.h5"))
        model.save_weights(os.path.join(OUT, f"{name}.weights.h5"))
    np.savez(predictions, **arrays)


if __name__ == "__main__":
    main(sys.argv[1:])
