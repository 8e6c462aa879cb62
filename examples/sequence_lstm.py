"""Teach an LSTM to tell whether a sequence of digits is in ascending order.

The data is generated here: sequences of 4 to 12 digits, half of them sorted (ascending,
repeats allowed) and half sorted except for one swapped pair of neighbours, so the
network has to compare every digit with the one before it. Sequences are padded with
zeros at the end and ``Embedding(mask_zero=True)`` tells the LSTM to skip the padding.
Digit d is token d + 1; token 0 is padding.

    python examples/sequence_lstm.py [--epochs 12] [--samples 6000] [--batch-size 64] [--seed 1]

With the defaults it reaches about 98% test accuracy in well under a minute on one CPU
core. Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import gpukeras as keras
from gpukeras.layers import LSTM, Dense, Embedding, Input
from gpukeras.models import Sequential

MAX_LENGTH, MIN_LENGTH, DIGITS = 12, 4, 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=12, help="training epochs (default 12)")
    parser.add_argument(
        "--samples", type=int, default=6000, help="training sequences (default 6000)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="samples per step (default 64)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    return parser.parse_args()


def make_sequences(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` padded token sequences and their labels (1 = ascending)."""
    tokens = np.zeros((count, MAX_LENGTH), dtype="int32")
    labels = np.zeros(count, dtype="int32")
    for row in range(count):
        length = int(rng.integers(MIN_LENGTH, MAX_LENGTH + 1))
        digits = np.sort(rng.integers(0, DIGITS, size=length))
        ascending = row % 2 == 0
        if not ascending:
            # Swap one pair of different neighbours: sorted everywhere else.
            places = np.flatnonzero(digits[1:] != digits[:-1])
            if len(places) == 0:
                digits[0] = (digits[0] + 1) % DIGITS
                digits = digits[::-1].copy()
            else:
                at = int(rng.choice(places))
                digits[at], digits[at + 1] = digits[at + 1], digits[at]
        tokens[row, :length] = digits + 1
        labels[row] = int(np.all(digits[1:] >= digits[:-1]))
    order = rng.permutation(count)
    return tokens[order], labels[order]


def build_model() -> Sequential:
    model = Sequential(
        [
            Input((MAX_LENGTH,)),
            Embedding(DIGITS + 1, 16, mask_zero=True),
            LSTM(32),
            Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_sequences(args.samples, rng)
    x_test, y_test = make_sequences(2000, rng)
    print(
        f"Ascending-order task: {len(x_train)} training and {len(x_test)} test sequences "
        f"of {MIN_LENGTH}-{MAX_LENGTH} digits, backend {keras.backend.backend()}"
    )
    model = build_model()
    started = time.perf_counter()
    model.fit(
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


if __name__ == "__main__":
    main()
