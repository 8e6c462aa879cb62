"""gpukeras functional models for the saving tests: the fixtures' architectures and more.

Each builder makes a small model with fresh weights; ``BUILDERS`` names them all, and
``batch_for`` makes a batch of inputs for any of them.
"""

from __future__ import annotations

import numpy as np

import gpukeras
from gpukeras import layers


def two_io():
    left = gpukeras.Input((4,), name="left")
    right = gpukeras.Input((3,), name="right")
    shared = layers.Dense(5, activation="tanh", name="shared")
    a = shared(layers.Dense(4, name="left_proj")(left))
    b = shared(layers.Dense(4, name="right_proj")(right))
    joined = layers.Add(name="join")([a, b])
    cls = layers.Dense(3, activation="softmax", name="cls")(joined)
    return gpukeras.Model([left, right], [cls, layers.Dense(1, name="reg")(b)], name="two_io")


def residual():
    inp = gpukeras.Input((6,), name="x")
    h = layers.Dense(6, activation="relu", name="block_1")(inp)
    h = layers.Add(name="skip")([inp, layers.Dense(6, name="block_2")(h)])
    h = layers.Activation("relu", name="after_skip")(h)
    return gpukeras.Model(inp, layers.Dense(2, name="head")(h), name="residual")


def inception():
    inp = gpukeras.Input((5, 5, 2), name="image")
    one = layers.Conv2D(2, 1, activation="relu", name="tower_1x1")(inp)
    three = layers.Conv2D(3, 3, padding="same", activation="relu", name="tower_3x3")(inp)
    pool = layers.MaxPooling2D(3, strides=1, padding="same", name="tower_pool")(inp)
    mixed = layers.Concatenate(axis=-1, name="mixed")([one, three, pool])
    flat = layers.Flatten(name="flat")(mixed)
    return gpukeras.Model(inp, layers.Dense(2, name="head")(flat), name="inception")


def siamese():
    first = gpukeras.Input((4,), name="first")
    second = gpukeras.Input((4,), name="second")
    hidden = layers.Dense(5, activation="relu", name="embed_hidden")
    embed = layers.Dense(3, name="embed")
    similarity = layers.Dot(axes=1, normalize=True, name="cosine")(
        [embed(hidden(first)), embed(hidden(second))]
    )
    return gpukeras.Model([first, second], similarity, name="siamese")


def _with_head(base, name):
    base.trainable = False
    inp = gpukeras.Input((4,), name="x")
    out = layers.Dense(2, activation="softmax", name="new_head")(base(inp))
    return gpukeras.Model(inp, out, name=name)


def nested_sequential():
    base = gpukeras.Sequential(
        [gpukeras.Input((4,)), layers.Dense(6, activation="relu"), layers.Dense(5)],
        name="base_seq",
    )
    return _with_head(base, "nested_sequential")


def nested_functional():
    inp = gpukeras.Input((4,), name="base_in")
    h = layers.Dense(5, name="base_out")(layers.Dense(6, activation="relu", name="hidden")(inp))
    return _with_head(gpukeras.Model(inp, h, name="base_fn"), "nested_functional")


def features():
    inp = gpukeras.Input((6,), name="x")
    hidden = layers.Dense(5, activation="relu", name="hidden")(inp)
    h = layers.Dense(4, activation="tanh", name="features")(hidden)
    full = gpukeras.Model(inp, layers.Dense(2, name="classifier")(h), name="full")
    return gpukeras.Model(full.input, full.get_layer("features").output, name="features")


def nested_output_twice():
    """A nested functional model called twice, its outputs the model's (Keras numbers
    them from 1 in ``output_layers``), plus a dict of outputs."""
    inp = gpukeras.Input((3,), name="inner_in")
    inner = gpukeras.Model(inp, layers.Dense(2, name="inner_dense")(inp), name="inner")
    x = gpukeras.Input((3,), name="x")
    y = gpukeras.Input((3,), name="y")
    return gpukeras.Model([x, y], {"first": inner(x), "second": inner(y)}, name="twice")


def sequential_around_functional():
    """A functional model used as a layer of a Sequential (a Sequential file, nested)."""
    inp = gpukeras.Input((4,), name="base_in")
    base = gpukeras.Model(inp, layers.Dense(3, name="base_dense")(inp), name="base_fn")
    return gpukeras.Sequential(
        [gpukeras.Input((4,)), base, layers.Dense(2, name="head")], name="outer"
    )


def every_merge():
    """Each merge layer once, joined by a Concatenate (their configs as Keras reads them)."""
    a = gpukeras.Input((4,), name="a")
    b = gpukeras.Input((4,), name="b")
    merged = [
        layers.Subtract()([a, b]),
        layers.Multiply()([a, b]),
        layers.Average()([a, b]),
        layers.Maximum()([a, b]),
        layers.Minimum()([a, b]),
        layers.Dot(axes=1)([a, b]),
        layers.Dot(axes=-1, normalize=True)([a, b]),
    ]
    joined = layers.Concatenate(axis=1)(merged)
    return gpukeras.Model([a, b], layers.Dense(2, name="head")(joined), name="every_merge")


BUILDERS = {
    "two_io": two_io,
    "residual": residual,
    "inception": inception,
    "siamese": siamese,
    "nested_sequential": nested_sequential,
    "nested_functional": nested_functional,
    "features": features,
    "nested_output_twice": nested_output_twice,
    "sequential_around_functional": sequential_around_functional,
    "every_merge": every_merge,
}


def batch_for(model, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [t.shape for t in model.inputs] if hasattr(model, "inputs") else [model.input_shape]
    return [rng.normal(size=(3, *shape[1:])).astype("float32") for shape in shapes]


def nested_dict_outputs():
    """A nested model with dict outputs whose keys are not sorted: Keras numbers a call's
    outputs by sorted key ('alpha' is output 0), the model gave 'zeta' first."""
    i = gpukeras.Input((3,), name="i")
    inner = gpukeras.Model(
        i, {"zeta": layers.Dense(2, name="dz")(i), "alpha": layers.Dense(4, name="da")(i)},
        name="inner",
    )  # fmt: skip
    x = gpukeras.Input((3,), name="x")
    out = inner(x)
    heads = [layers.Dense(1, name="hz")(out["zeta"]), layers.Dense(1, name="ha")(out["alpha"])]
    return gpukeras.Model(x, heads, name="nested_dict_outputs")


def dict_outputs():
    """Outputs given as a dict whose keys are not sorted (Keras walks them sorted)."""
    x = gpukeras.Input((3,), name="x")
    hidden = layers.Dense(5, activation="relu", name="hidden")(x)
    outputs = {"reg": layers.Dense(1, name="reg")(hidden), "cls": layers.Dense(3, name="cls")(x)}
    return gpukeras.Model(x, outputs, name="dict_outputs")


BUILDERS["nested_dict_outputs"] = nested_dict_outputs
BUILDERS["dict_outputs"] = dict_outputs
