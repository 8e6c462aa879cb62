"""Train a multilayer perceptron on handwritten digits and report its test accuracy.

By default it trains on the 8x8 UCI digits shipped with gpukeras (no download, a few
seconds on a CPU). With --mnist it trains on real MNIST, downloaded on first use into
~/.gpukeras/datasets (see gpukeras.datasets.mnist.load_data); --mnist-file PATH reads a
copy of your own instead.

    python examples/mnist_mlp.py [--epochs 20] [--batch-size 32] [--seed 1] [--mnist]

Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto).
"""

from __future__ import annotations

import argparse
import os
import time

import gpukeras as keras
from gpukeras.datasets import digits, mnist
from gpukeras.layers import Dense, Dropout
from gpukeras.models import Sequential

NUM_CLASSES = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per step (default 32)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--mnist", action="store_true", help="train on MNIST instead of the digits")
    parser.add_argument("--mnist-file", help="with --mnist: read this mnist.npz, not the cache")
    parser.add_argument(
        "--plot", metavar="PNG", help="draw the loss/accuracy curves here (needs gpukeras[plot])"
    )
    return parser.parse_args()


def load(use_mnist: bool, mnist_file: str | None = None):
    """Flattened float32 images scaled to [0, 1] and one-hot labels."""
    if use_mnist:
        path = os.path.abspath(mnist_file) if mnist_file else "mnist.npz"
        (x_train, y_train), (x_test, y_test) = mnist.load_data(path)
        brightest = 255.0
    else:
        (x_train, y_train), (x_test, y_test) = digits.load_data()
        brightest = 16.0

    def features(images):
        return images.reshape(len(images), -1).astype("float32") / brightest

    def one_hot(labels):
        return keras.utils.to_categorical(labels, NUM_CLASSES)

    return (features(x_train), one_hot(y_train)), (features(x_test), one_hot(y_test))


def build_model(num_features: int, hidden_units: int) -> Sequential:
    model = Sequential()
    model.add(Dense(hidden_units, activation="relu", input_shape=(num_features,)))
    model.add(Dropout(0.2))
    model.add(Dense(hidden_units, activation="relu"))
    model.add(Dropout(0.2))
    model.add(Dense(NUM_CLASSES, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model


def main() -> None:
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load(args.mnist, args.mnist_file)
    name = "MNIST" if args.mnist else "UCI digits (8x8)"
    print(
        f"{name}: {len(x_train)} training and {len(x_test)} test images, backend "
        f"{keras.backend.backend()}"
    )

    # MNIST's 784 features deserve a wider layer than the digits' 64.
    model = build_model(x_train.shape[1], hidden_units=512 if args.mnist else 64)
    started = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=2,
        validation_data=(x_test, y_test),
    )
    seconds = time.perf_counter() - started
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Trained {args.epochs} epochs in {seconds:.1f} s")
    print(f"Test loss: {float(loss):.4f}")
    print(f"Test accuracy: {float(accuracy):.4f}")
    if args.plot:
        print(f"Training curves: {history.plot(args.plot)}")


if __name__ == "__main__":
    main()
