"""Write a layer of your own the Keras 3 way, with ``call()``, and train it; then the
advanced path: the same layer with a hand-written ``forward``/``backward``, checked.

The layer is a gated linear unit, ``(x @ W + b) * sigmoid(x @ V + c)``.

- ``GatedLinearUnit`` is how Keras 3 writes a layer: ``build(input_shape)`` creates the
  weights with ``add_weight``, ``call(inputs)`` computes the output with ``gpukeras.ops``.
  Training differentiates ``call`` automatically (the tape records the ops).
- ``GatedLinearUnitByHand`` computes the same thing in ``forward(x, training)`` and gives
  its own gradient in ``backward(grad)``: the path for a layer whose hand-written gradient
  is faster or more stable than the recorded one (every built-in layer works this way).
  ``gpukeras.utils.check_gradients`` compares that backward pass with finite differences
  in float64, and catches a deliberately wrong variant.

Both layers give the same gradients for the same weights; a small network with the
``call()`` layer then learns the 8x8 digits shipped with gpukeras.

    python examples/custom_layer.py [--epochs 15] [--seed 1]

Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto).
"""

from __future__ import annotations

import argparse

import numpy as np

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import ops
from gpukeras.datasets import digits
from gpukeras.layers import Dense, Layer
from gpukeras.models import Sequential
from gpukeras.utils import check_gradients


class GatedLinearUnit(Layer):
    """``(x @ W + b) * sigmoid(x @ V + c)``: a linear map, gated feature by feature.

    Args:
        units: Output features. Required.
        **kwargs: Layer arguments (``name``, ``dtype``, ``input_shape``, ...).
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        features = int(input_shape[-1])
        self.w = self.add_weight(name="w", shape=(features, self.units))
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros")
        self.v = self.add_weight(name="v", shape=(features, self.units))
        self.c = self.add_weight(name="c", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        linear = ops.matmul(inputs, self.w) + self.b
        return linear * ops.sigmoid(ops.matmul(inputs, self.v) + self.c)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


# -- the advanced path: a hand-written backward pass -----------------------------------------
class GatedLinearUnitByHand(Layer):
    """The same layer computing its own gradient: ``forward`` and ``backward``, no ``call``."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    build = GatedLinearUnit.build  # the same weights

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def forward(self, x, training=False):
        xp = K.get_array_module(x)
        linear = x @ self.w.value + self.b.value
        gate = 1.0 / (1.0 + xp.exp(-(x @ self.v.value + self.c.value)))
        self._saved = (x, linear, gate)  # what backward needs
        return linear * gate

    def backward(self, grad):
        x, linear, gate = self._saved
        grad_linear = grad * gate
        grad_gate_input = grad * linear * gate * (1.0 - gate)  # through the sigmoid
        self.w.grad[...] = x.T @ grad_linear
        self.b.grad[...] = grad_linear.sum(axis=0)
        self.v.grad[...] = x.T @ grad_gate_input
        self.c.grad[...] = grad_gate_input.sum(axis=0)
        if not self.needs_input_grad:
            return None  # the model's first layer: nobody needs d loss / d data
        return grad_linear @ self.w.value.T + grad_gate_input @ self.v.value.T


class ForgetfulGLU(GatedLinearUnitByHand):
    """The hand-written layer with a classic mistake: the sigmoid's derivative is left out."""

    def backward(self, grad):
        grad_input = super().backward(grad)
        _, linear, _ = self._saved
        self.c.grad[...] = (grad * linear).sum(axis=0)  # should be times gate * (1 - gate)
        return grad_input


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=15, help="training epochs (default 15)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    return parser.parse_args()


def same_gradients_both_ways() -> None:
    """The tape's gradient of ``call()`` equals the hand-written ``backward``'s."""
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    recorded, by_hand = GatedLinearUnit(3, name="glu_call"), GatedLinearUnitByHand(3)
    recorded(x), by_hand(x)
    by_hand.set_weights(recorded.get_weights())
    gradients = []
    for layer in (recorded, by_hand):
        with keras.GradientTape() as tape:
            loss = ops.sum(ops.square(layer(x)))
        gradients.append(tape.gradient(loss, layer.trainable_weights))
    largest = max(float(np.max(np.abs(K.to_host(a) - K.to_host(b)))) for a, b in zip(*gradients))
    print(f"call() on the tape vs hand-written backward: largest difference {largest:.1e}")


def gradient_checks() -> None:
    x = np.random.default_rng(0).normal(size=(4, 6))
    errors = check_gradients(GatedLinearUnitByHand(3, dtype="float64", name="glu"), x)
    print("Gradient check of GatedLinearUnitByHand (largest |analytic - numeric|):")
    for name, error in errors.items():
        print(f"  {name:8s} {error:.2e}")
    try:
        check_gradients(ForgetfulGLU(3, dtype="float64", name="forgetful"), x)
        print("The wrong backward pass was NOT caught")
    except AssertionError as error:
        named = next(line for line in str(error).splitlines() if "gradient of" in line)
        print(f"The wrong variant is caught: {named.strip()}")


def main() -> None:
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    same_gradients_both_ways()
    gradient_checks()

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16
    model = Sequential([keras.Input((64,)), GatedLinearUnit(32), Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
