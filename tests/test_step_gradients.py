"""The compiled training step's gradients equal a GradientTape's, however layers are used.

Inside ``fit`` a built-in layer that is the only writer of its weights' gradients writes
them straight into ``.grad`` (``layers/_gradient_sinks.py``); a layer called twice, or
with several outputs, keeps one fresh gradient per call. Either way one SGD step must
move every weight by exactly ``-lr * d loss / d weight`` as a plain tape computes it.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import ops

LR = 0.25


class SharedDense(keras.Model):
    """``shared`` called twice, ``head`` once."""

    def __init__(self):
        super().__init__()
        self.shared = keras.layers.Dense(6, activation="tanh")
        self.head = keras.layers.Dense(2)

    def call(self, x):
        return self.head(self.shared(self.shared(x)))


class OnceEach(keras.Model):
    def __init__(self):
        super().__init__()
        self.first = keras.layers.Dense(6, activation="relu")
        self.second = keras.layers.Dense(6, activation="tanh")
        self.head = keras.layers.Dense(2)

    def call(self, x):
        return self.head(self.second(self.first(x)))


class TwoOutputs(keras.Model):
    """An LSTM whose sequence output and final state both reach the loss."""

    def __init__(self):
        super().__init__()
        self.lstm = keras.layers.LSTM(6, return_state=True)
        self.head = keras.layers.Dense(2)

    def call(self, x):
        out, h, c = self.lstm(x)
        return self.head(out + c)


CASES = {
    "layers called once": (OnceEach, (8, 6)),
    "a layer called twice": (SharedDense, (8, 6)),
    "a layer with several outputs": (TwoOutputs, (8, 4, 6)),
}


def _model(cls, shape):
    keras.utils.set_random_seed(3)
    model = cls()
    model.build((None, *shape[1:]))
    return model


def _tape_step(model, x, y):
    """What one SGD step should do, computed with a GradientTape outside ``fit``."""
    with keras.GradientTape() as tape:
        loss = ops.mean(ops.square(model(x, training=True) - y))
    grads = tape.gradient(loss, model.trainable_weights)
    return [
        keras.ops.convert_to_numpy(w.value) - LR * keras.ops.convert_to_numpy(g)
        for w, g in zip(model.trainable_weights, grads)
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_fit_step_moves_each_weight_by_its_tape_gradient(xp, case):
    cls, shape = CASES[case]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype("float32")
    y = rng.standard_normal((shape[0], 2)).astype("float32")
    expected = _tape_step(_model(cls, shape), x, y)

    model = _model(cls, shape)
    model.compile(keras.optimizers.SGD(LR), "mse")
    model.fit(x, y, batch_size=shape[0], epochs=1, shuffle=False, verbose=0)

    got = [keras.ops.convert_to_numpy(w.value) for w in model.trainable_weights]
    assert len(got) == len(expected)
    for after, want in zip(got, expected):
        np.testing.assert_allclose(after, want, rtol=1e-5, atol=1e-6)


def test_two_steps_in_a_row_do_not_carry_gradients_over(xp):
    """``.grad`` written by one step is overwritten, not added to, by the next."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 6)).astype("float32")
    y = rng.standard_normal((8, 2)).astype("float32")
    reference = _model(OnceEach, (8, 6))
    reference.set_weights([np.asarray(w) for w in _tape_step(reference, x, y)])
    expected = _tape_step(reference, x, y)

    model = _model(OnceEach, (8, 6))
    model.compile(keras.optimizers.SGD(LR), "mse")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for w, want in zip(model.trainable_weights, expected):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(w.value), want, rtol=1e-5, atol=1e-6)
