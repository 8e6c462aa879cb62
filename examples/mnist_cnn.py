"""Train the Keras MNIST convnet and report its test accuracy.

The model is the one from the Keras "Simple MNIST convnet" example: Conv2D(32, 3x3, relu),
MaxPooling2D(2), Conv2D(64, 3x3, relu), MaxPooling2D(2), Flatten, Dropout(0.5),
Dense(10, softmax), trained with Adam on categorical cross-entropy.

By default it trains on the 8x8 UCI digits shipped with gpukeras (no download, well under a
minute on one CPU core; test accuracy about 0.98). The images are too small for two valid 3x3
convolutions and two poolings, so on the digits the convolutions use padding='same'
(8x8 -> 8x8 -> 4x4 -> 4x4 -> 2x2). With --mnist it trains on real MNIST (28x28, padding
'valid' as in Keras), from gpukeras.datasets.mnist (downloaded once, then cached), or from
your own copy of Keras's mnist.npz with --mnist-path.

    python examples/mnist_cnn.py [--epochs 15] [--batch-size 32] [--seed 1] [--mnist]
                                 [--mnist-path /abs/path/mnist.npz]

Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto).
"""

from __future__ import annotations

import argparse
import time

import gpukeras as keras
from gpukeras.datasets import digits, mnist
from gpukeras.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from gpukeras.models import Sequential

NUM_CLASSES = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="default 15 (digits), 5 (MNIST)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default 32 (digits), 128 (MNIST)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--mnist", action="store_true", help="train on MNIST, not the digits")
    parser.add_argument(
        "--mnist-path", default=None, help="your own copy of mnist.npz (implies --mnist)"
    )
    return parser.parse_args()


def load(use_mnist: bool, mnist_path: str | None = None):
    """Images as float32 (N, H, W, 1) in [0, 1] and one-hot labels."""
    if use_mnist:
        (x_train, y_train), (x_test, y_test) = mnist.load_data(mnist_path or "mnist.npz")
        brightest = 255.0
    else:
        (x_train, y_train), (x_test, y_test) = digits.load_data()
        brightest = 16.0

    def images(x):
        side = int(round((x[0].size) ** 0.5))
        return x.reshape(len(x), side, side, 1).astype("float32") / brightest

    def one_hot(labels):
        return keras.utils.to_categorical(labels, NUM_CLASSES)

    return (images(x_train), one_hot(y_train)), (images(x_test), one_hot(y_test))


def build_model(input_shape: tuple[int, int, int], padding: str) -> Sequential:
    model = Sequential(
        [
            Input(input_shape),
            Conv2D(32, kernel_size=(3, 3), activation="relu", padding=padding),
            MaxPooling2D(pool_size=(2, 2)),
            Conv2D(64, kernel_size=(3, 3), activation="relu", padding=padding),
            MaxPooling2D(pool_size=(2, 2)),
            Flatten(),
            Dropout(0.5),
            Dense(NUM_CLASSES, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def main() -> None:
    args = parse_args()
    args.mnist = args.mnist or args.mnist_path is not None
    epochs = args.epochs if args.epochs is not None else (5 if args.mnist else 15)
    batch_size = args.batch_size if args.batch_size is not None else (128 if args.mnist else 32)
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load(args.mnist, args.mnist_path)
    name = "MNIST" if args.mnist else "UCI digits (8x8)"
    print(
        f"{name}: {len(x_train)} training and {len(x_test)} test images, backend "
        f"{keras.backend.backend()}"
    )
    model = build_model(x_train.shape[1:], padding="valid" if args.mnist else "same")
    started = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        verbose=2,
        validation_split=0.1,
    )
    seconds = time.perf_counter() - started
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Trained {epochs} epochs in {seconds:.1f} s")
    print(f"Test loss: {float(loss):.4f}")
    print(f"Test accuracy: {float(accuracy):.4f}")


if __name__ == "__main__":
    main()
