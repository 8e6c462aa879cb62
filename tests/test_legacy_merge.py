"""Keras 1's ``Merge([branch_a, branch_b], mode=...)`` as the first layer of a Sequential:
each mode's values, training on a list of arrays, a shared branch, warnings at the
user's line and clear refusals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import layers
from gpukeras.layers import Merge

RNG = np.random.default_rng(9)
XA = RNG.normal(size=(6, 3)).astype("float32")
XB = RNG.normal(size=(6, 5)).astype("float32")


def branch(features: int, units: int = 4) -> keras.models.Sequential:
    model = keras.models.Sequential()
    model.add(layers.Dense(units, input_shape=(features,), bias_initializer="random_normal"))
    return model


def quiet_merge(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Merge(*args, **kwargs)


def cosine(a, b):
    dot = (a * b).sum(axis=1, keepdims=True)
    norms = (a * a).sum(axis=1, keepdims=True) * (b * b).sum(axis=1, keepdims=True)
    return dot / np.sqrt(np.maximum(norms, 1e-7))


EXPECTED = {
    "sum": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "ave": lambda a, b: (a + b) / 2,
    "max": np.maximum,
    "concat": lambda a, b: np.concatenate([a, b], axis=-1),
    "dot": lambda a, b: (a * b).sum(axis=1, keepdims=True),
    "cos": cosine,
}


@pytest.mark.parametrize("mode", list(EXPECTED))
def test_each_mode_combines_the_branch_outputs_as_keras_1_did(mode):
    left, right = branch(3), branch(5)
    merged = quiet_merge([left, right], mode=mode)
    out = merged.predict([XA, XB], verbose=0)
    expected = EXPECTED[mode](left.predict(XA, verbose=0), right.predict(XB, verbose=0))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert merged.output_shape == (None, *expected.shape[1:])


def test_concat_axis_and_dot_axes_of_sequences():
    a = keras.models.Sequential([layers.TimeDistributed(layers.Dense(4), input_shape=(5, 3))])
    b = keras.models.Sequential([layers.TimeDistributed(layers.Dense(4), input_shape=(6, 2))])
    xa, xb = RNG.normal(size=(2, 5, 3)), RNG.normal(size=(2, 6, 2))
    ya, yb = a.predict(xa, verbose=0), b.predict(xb, verbose=0)
    dot = quiet_merge([a, b], mode="dot", dot_axes=[2, 2]).predict([xa, xb], verbose=0)
    np.testing.assert_allclose(dot, np.einsum("bik,bjk->bij", ya, yb), rtol=1e-5, atol=1e-6)
    joined = quiet_merge([a, b], mode="concat", concat_axis=1).predict([xa, xb], verbose=0)
    np.testing.assert_allclose(joined, np.concatenate([ya, yb], axis=1), rtol=1e-6)


def test_a_keras_1_two_branch_sequential_trains_on_a_list_of_arrays(backend_name):
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(128, 3)).astype("float32")
    xb = rng.normal(size=(128, 5)).astype("float32")
    y = ((xa[:, 0] + xb[:, 0]) > 0).astype("float32")[:, None]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.models.Sequential()
        model.add(Merge([branch(3, 8), branch(5, 8)], mode="concat"))
        model.add(layers.Dense(1, activation="sigmoid"))
    merge_warnings = [w for w in caught if "`Merge` is Keras 1's" in str(w.message)]
    assert len(merge_warnings) == 1 and merge_warnings[0].filename == __file__
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.05))
    losses = model.fit([xa, xb], y, epochs=6, batch_size=32, verbose=0).history["loss"]
    assert losses[-1] < 0.6 * losses[0]
    assert model.predict([xa[:4], xb[:4]], verbose=0).shape == (4, 1)
    assert model.evaluate([xa, xb], y, verbose=0) < losses[0]


def test_a_shared_branch_learns_a_cosine_similarity(backend_name):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(128, 4)).astype("float32")
    same = rng.random(128) < 0.5
    b = np.where(same[:, None], a + 0.1 * rng.normal(size=a.shape), rng.normal(size=a.shape))
    encoder = branch(4, 6)
    model = keras.models.Sequential()
    model.add(quiet_merge([encoder, encoder], mode="cos"))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.05))
    history = model.fit([a, b.astype("float32")], same.astype("float32")[:, None], epochs=8,
                        batch_size=32, verbose=0)  # fmt: skip
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert len(model.trainable_weights) == 4  # the encoder's two weights once, and the head's


@pytest.mark.parametrize(("build", "error", "message"), [
    (lambda: Merge([branch(3)]), ValueError, r"at least two branches"),
    (lambda: Merge([branch(3), branch(5)], mode="avg"), ValueError, r"Received: mode='avg'"),
    (lambda: Merge([branch(3), branch(5)], mode=lambda x: x[0]), ValueError, r"Lambda"),
    (lambda: Merge([branch(3, 4), branch(5, 2)], mode="sum"), ValueError,
     r"one shape. Received: \[\(None, 4\), \(None, 2\)\]"),
    (lambda: Merge([branch(3), branch(3), branch(3)], mode="cos"), ValueError,
     r"exactly two branches. Received: 3"),
    (lambda: Merge([layers.Dense(2), branch(3)]), ValueError, r"known input shape"),
    (lambda: Merge([branch(3), branch(5)], output_shape=(4,)), TypeError,
     r"Received: \['output_shape'\]"),
])  # fmt: skip
def test_bad_merges_are_refused_clearly(build, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(error, match=message):
            build()
