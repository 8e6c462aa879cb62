"""Stop training when the validation loss stops improving, and keep the best weights.

A deliberately large network (two layers of 256 units, Adam at a high learning rate) trains
on the 8x8 digits shipped with gpukeras, with a fifth of the training images held out for
validation. It overfits within a few epochs: the validation loss turns upwards while the
training loss keeps falling. ``EarlyStopping(monitor='val_loss', patience=...,
restore_best_weights=True)`` notices, stops the run long before ``--epochs``, and puts back
the weights of the epoch with the lowest validation loss. The script then checks that the
restored model scores exactly that best validation loss, and reports its test accuracy.

    python examples/early_stopping.py [--epochs 100] [--patience 4] [--seed 1]

Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto).
"""

from __future__ import annotations

import argparse

import gpukeras as keras
from gpukeras.callbacks import EarlyStopping
from gpukeras.datasets import digits
from gpukeras.layers import Dense
from gpukeras.models import Sequential


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=100, help="at most this many (default 100)")
    parser.add_argument("--patience", type=int, default=4, help="epochs without improvement")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16

    model = Sequential(
        [
            keras.Input((64,)),
            Dense(256, activation="relu"),
            Dense(256, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.003),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    stopper = EarlyStopping(
        monitor="val_loss", patience=args.patience, restore_best_weights=True, verbose=1
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=32,
        epochs=args.epochs,
        validation_split=0.2,
        callbacks=[stopper],
        verbose=2,
    )

    val_losses = history.history["val_loss"]
    best_epoch = min(range(len(val_losses)), key=val_losses.__getitem__)
    ran = len(val_losses)
    print(f"Ran {ran} of at most {args.epochs} epochs")
    print(f"Best epoch: {best_epoch + 1} (val_loss {val_losses[best_epoch]:.4f})")

    # validation_split held out the last 20% of the training data; score it again.
    held_out = int(len(x_train) * (1.0 - 0.2))  # Keras: floor(n * (1 - split))
    restored = model.evaluate(x_train[held_out:], y_train[held_out:], verbose=0)[0]
    print(f"val_loss of the restored weights: {restored:.4f}")
    same = abs(restored - val_losses[best_epoch]) <= 1e-6 * max(1.0, abs(restored))
    print("Restored the best epoch's weights:", "yes" if same else "NO")
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test accuracy: {test_accuracy:.4f}")


if __name__ == "__main__":
    main()
