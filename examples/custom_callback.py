"""Write callbacks of your own: record batch losses, time epochs, stop at a target accuracy.

A callback subclasses ``gpukeras.callbacks.Callback`` and overrides the hooks it needs
(``on_train_begin``, ``on_epoch_end``, ``on_batch_end``, ...). It reaches the model through
``self.model`` and the training parameters through ``self.params``. Three small callbacks
train a network on the 8x8 digits shipped with gpukeras:

- ``BatchLosses`` keeps the loss after every batch (the founding guide's LossHistory);
- ``EpochTimer`` adds an ``epoch_seconds`` entry to each epoch's logs, which ``History``
  (it runs after the user's callbacks) records like any metric;
- ``StopAtAccuracy`` ends training once the validation accuracy reaches a target, by
  setting ``self.model.stop_training``.

Log values stay on the device until something reads them: the script also shows how many
device-to-host transfers training cost with and without a callback that reads every
batch's loss.

    python examples/custom_callback.py [--epochs 30] [--target 0.95] [--seed 1]

Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto).
"""

from __future__ import annotations

import argparse
import time

import gpukeras as keras
from gpukeras.callbacks import Callback
from gpukeras.datasets import digits
from gpukeras.layers import Dense
from gpukeras.models import Sequential


class BatchLosses(Callback):
    """The loss after each training batch (the epoch's running mean, as in Keras 3)."""

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])  # reading the value fetches it from the device


class EpochTimer(Callback):
    """Adds ``epoch_seconds`` to the epoch logs that later callbacks (History) see."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs["epoch_seconds"] = time.perf_counter() - self.started


class StopAtAccuracy(Callback):
    """Stops training at the end of the first epoch whose val_accuracy reaches ``target``."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.stopped_at = None

    def on_epoch_end(self, epoch, logs=None):
        if logs.get("val_accuracy", 0.0) >= self.target:
            self.stopped_at = epoch
            self.model.stop_training = True


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30, help="at most this many (default 30)")
    parser.add_argument("--target", type=float, default=0.95, help="val_accuracy to stop at")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    return parser.parse_args()


def build_model() -> Sequential:
    model = Sequential(
        [keras.Input((64,)), Dense(32, activation="relu"), Dense(10, activation="softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    args = parse_args()
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16
    fit_arguments = dict(batch_size=32, epochs=args.epochs, validation_data=(x_test, y_test))

    keras.utils.set_random_seed(args.seed)
    batch_losses, timer, stopper = BatchLosses(), EpochTimer(), StopAtAccuracy(args.target)
    before = keras.backend.host_syncs()
    history = build_model().fit(
        x_train, y_train, verbose=0, callbacks=[batch_losses, timer, stopper], **fit_arguments
    )
    with_batch_reads = keras.backend.host_syncs() - before
    epochs_run = len(history.epoch)

    if stopper.stopped_at is None:
        print(f"val_accuracy never reached {args.target} in {epochs_run} epochs")
    else:
        reached = history.history["val_accuracy"][stopper.stopped_at]
        print(f"Stopped after epoch {stopper.stopped_at + 1}: val_accuracy {reached:.4f}")
    print(f"Batch losses recorded: {len(batch_losses.losses)}")
    print(f"  first {batch_losses.losses[0]:.4f}, last {batch_losses.losses[-1]:.4f}")
    seconds = history.history["epoch_seconds"]
    print(
        f"Epoch times recorded by History: {len(seconds)}, mean {sum(seconds) / len(seconds):.3f} s"
    )

    # The same run with only the epoch-level callbacks reads no batch logs.
    keras.utils.set_random_seed(args.seed)
    before = keras.backend.host_syncs()
    build_model().fit(
        x_train, y_train, verbose=0, callbacks=[EpochTimer(), StopAtAccuracy(args.target)],
        **fit_arguments,
    )  # fmt: skip
    epoch_only = keras.backend.host_syncs() - before
    print(f"Device-to-host transfers in {epochs_run} epochs:")
    print(f"  {with_batch_reads} with a callback reading every batch's loss")
    print(f"  {epoch_only} when only epoch logs are read (one per epoch)")


if __name__ == "__main__":
    main()
