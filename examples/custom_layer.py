"""Write a layer of your own, with its forward and backward pass, and check its gradients.

gpukeras layers compute their gradients by hand: ``build(input_shape)`` creates the weights
with ``add_weight``, ``forward(x, training)`` computes the output and keeps what the
backward pass needs, and ``backward(grad)`` receives the gradient of the loss with respect
to the output, writes each weight's gradient into ``weight.grad`` and returns the gradient
with respect to the input. Array code is written once against ``xp`` (NumPy or CuPy).

The layer here is a gated linear unit, ``(x @ W + b) * sigmoid(x @ V + c)``. Before
training with it, ``gpukeras.utils.check_gradients`` compares its backward pass with
finite differences in float64; the same check catches a deliberately wrong variant.
Then a small network with the new layer learns the 8x8 digits shipped with gpukeras.

    python examples/custom_layer.py [--epochs 15] [--seed 1]

Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto).
"""

from __future__ import annotations

import argparse

import numpy as np

import gpukeras as keras
from gpukeras import backend as K
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
        self.w = self.add_weight("w", (features, self.units), "glorot_uniform")
        self.b = self.add_weight("b", (self.units,), "zeros")
        self.v = self.add_weight("v", (features, self.units), "glorot_uniform")
        self.c = self.add_weight("c", (self.units,), "zeros")

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

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class ForgetfulGLU(GatedLinearUnit):
    """The same layer with a classic mistake: the sigmoid's derivative is left out."""

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


def gradient_checks() -> None:
    x = np.random.default_rng(0).normal(size=(4, 6))
    errors = check_gradients(GatedLinearUnit(3, dtype="float64", name="glu"), x)
    print("Gradient check of GatedLinearUnit (largest |analytic - numeric|):")
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
