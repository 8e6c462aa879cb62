"""A subclassed Model with its own train_step, as in Keras 3's guide "Customizing what
happens in fit()", trained on the 8x8 digits; its weights saved and loaded back.

``DigitClassifier`` holds its layers in attributes (one of them a list) and computes its
output in ``call()``. ``train_step`` is the guide's: a ``GradientTape`` around the forward
pass and ``compute_loss``, ``optimizer.apply`` on the gradients, then the metrics, with a
twist: the loss it minimises adds a small penalty on large logits, tracked as its own
metric. ``fit`` logs what the step returns, reading the device once per epoch (the script
counts the reads). The weights go to a ``.weights.h5`` file in Keras 3's layout for
subclassed models and come back into a new instance.

    python examples/custom_model.py [--epochs 10] [--seed 1]

Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto).
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops
from gpukeras.datasets import digits


class DigitClassifier(keras.Model):
    """Two hidden layers (kept in a list) and a softmax head."""

    def __init__(self, hidden: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [layers.Dense(hidden, activation="relu") for _ in range(2)]
        self.dropout = layers.Dropout(0.2)
        self.head = layers.Dense(10)
        self.penalty_tracker = keras.metrics.Mean(name="logit_penalty")

    def call(self, inputs, training=None):
        x = inputs
        for block in self.blocks:
            x = self.dropout(block(x), training=training)
        return self.head(x)  # logits

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            logits = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=logits)
            penalty = 1e-3 * ops.mean(ops.square(logits))
            total = loss + penalty
        gradients = tape.gradient(total, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.penalty_tracker.update_state(penalty)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            elif metric.name == "compile_metrics":
                metric.update_state(y, logits)
        return self.get_metrics_result()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16

    model = DigitClassifier()
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["sparse_categorical_accuracy"],
    )
    reads_before = K.host_syncs()
    history = model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=2)
    reads = K.host_syncs() - reads_before
    print(f"Logged each epoch: {sorted(history.history)}")
    print(f"Device reads during fit: {reads} for {args.epochs} epochs")
    model.summary()

    path = os.path.join(tempfile.mkdtemp(), "digits.weights.h5")
    model.save_weights(path)
    restored = DigitClassifier()
    restored(x_test[:1])
    restored.load_weights(path)
    same = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), restored.get_weights()))
    predictions = np.argmax(restored.predict(x_test, verbose=0), axis=-1)
    print(f"Weights after save_weights/load_weights identical: {'yes' if same else 'no'}")
    print(f"Test accuracy of the restored model: {np.mean(predictions == y_test):.4f}")


if __name__ == "__main__":
    main()
