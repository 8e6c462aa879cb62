"""A small data-parallel training job that tests/test_distributed.py launches under mpiexec.

    mpiexec -n 2 python -m mpi4py tests/distributed_job.py OUT_DIR [options]

Each rank writes ``OUT_DIR/result_rank{r}.npz`` (final weights and the loss history).
``--fail-rank R --fail-epoch E --fail-mode raise|kill`` makes rank R fail after the first batch
of epoch E;
``--mismatch model|data`` gives rank 1 a different model or data set.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

import numpy as np

import gpukeras as keras
import gpukeras.distributed as dist
from gpukeras.callbacks import BackupAndRestore, CSVLogger, LambdaCallback, ModelCheckpoint
from gpukeras.layers import Dense
from gpukeras.models import Sequential

FEATURES, CLASSES = 6, 3


def make_data(samples: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, FEATURES)).astype("float32")
    labels = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)
    return x, np.eye(CLASSES, dtype="float32")[labels]


def make_model(
    hidden: int,
    optimizer,
    custom: bool = False,
    subclassed: bool = False,
    step: bool = False,
    functional: bool = False,
):
    """The job's model; ``custom``: a ``call()`` layer and a plain-function loss (the tape
    step) in place of the first Dense and the built-in loss; ``subclassed``: the same two
    Dense layers in a subclassed Model (``step``: with its own ``train_step``);
    ``functional``: the same two Dense layers as ``keras.Model(inputs, outputs)``."""
    if functional:
        inputs = keras.Input((FEATURES,))
        hidden_out = Dense(hidden, activation="tanh")(inputs)
        model = keras.Model(inputs, Dense(CLASSES, activation="softmax")(hidden_out))
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        return model
    if subclassed:
        model = TwoDenseOwnStep(hidden) if step else TwoDense(hidden)
        model.build((None, FEATURES))
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        return model
    first = (
        TanhDense(hidden, input_shape=(FEATURES,))
        if custom
        else Dense(hidden, activation="tanh", input_shape=(FEATURES,))
    )
    model = Sequential([first, Dense(CLASSES, activation="softmax")])
    loss = crossentropy if custom else "categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


class TanhDense(keras.layers.Layer):
    """``tanh(x @ w + b)`` written the Keras 3 way."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape) -> None:
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        return keras.ops.tanh(keras.ops.matmul(inputs, self.w) + self.b)


class TwoDense(keras.Model):
    """The Sequential job model as a subclassed Model."""

    def __init__(self, hidden: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hidden = Dense(hidden, activation="tanh")
        self.out = Dense(CLASSES, activation="softmax")

    def call(self, inputs):
        return self.out(self.hidden(inputs))


class TwoDenseOwnStep(TwoDense):
    """``TwoDense`` with the Keras guide's GradientTape ``train_step``."""

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.metrics[0].update_state(loss)
        return self.compute_metrics(x, y, y_pred, sample_weight)


def crossentropy(y_true, y_pred):
    """Categorical crossentropy written with gpukeras.ops."""
    clipped = keras.ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
    return -keras.ops.sum(y_true * keras.ops.log(clipped), axis=-1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=int, default=51)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--shuffle", action="store_true")
    parser.add_argument("--steps-per-epoch", type=int)
    parser.add_argument("--backup", type=Path)
    parser.add_argument("--fail-rank", type=int, default=-1)
    parser.add_argument("--fail-epoch", type=int, default=-1)
    parser.add_argument("--fail-mode", choices=["raise", "kill"], default="raise")
    parser.add_argument("--mismatch", choices=["model", "data"])
    parser.add_argument("--custom", action="store_true", help="a call() layer, a custom loss")
    parser.add_argument("--subclassed", action="store_true", help="a subclassed Model")
    parser.add_argument("--own-step", action="store_true", help="with its own train_step")
    parser.add_argument("--functional", action="store_true", help="a functional Model")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    dist.init()
    rank = dist.rank()
    keras.utils.set_random_seed(7 + rank)  # different initial weights: the broadcast aligns them
    samples, hidden = args.samples, 8
    if args.mismatch == "data" and rank == 1:
        samples -= 1
    if args.mismatch == "model" and rank == 1:
        hidden = 5
    x, y = make_data(samples)
    optimizer = dist.DistributedOptimizer(keras.optimizers.Adam(0.01))
    model = make_model(
        hidden,
        optimizer,
        custom=args.custom,
        subclassed=args.subclassed,
        step=args.own_step,
        functional=args.functional,
    )

    epoch_now = [0]

    def maybe_fail(batch: int, logs=None) -> None:
        # After the first batch of the epoch: rank 0 has surely written the previous
        # epoch's backup, since it took part in this batch's allreduce.
        if rank == args.fail_rank and epoch_now[0] == args.fail_epoch and batch == 0:
            if args.fail_mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"rank {rank} fails on purpose in epoch {args.fail_epoch}")

    callbacks = [
        dist.MetricAverage(),
        dist.BroadcastGlobalVariables(0),
        LambdaCallback(
            on_epoch_begin=lambda epoch, logs: epoch_now.__setitem__(0, epoch),
            on_train_batch_end=maybe_fail,
        ),
        ModelCheckpoint(
            str(args.out / f"ckpt_rank{rank}.weights.h5"), save_weights_only=True, monitor="loss"
        ),
        CSVLogger(str(args.out / f"log_rank{rank}.csv")),
    ]
    if args.backup:
        callbacks.append(BackupAndRestore(str(args.backup)))
    history = model.fit(
        x,
        y,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=args.shuffle,
        steps_per_epoch=args.steps_per_epoch,
        callbacks=callbacks,
        verbose=2,
    )
    np.savez(
        args.out / f"result_rank{rank}.npz",
        *model.get_weights(),
        loss=np.array(history.history["loss"]),
        epochs=np.array(history.epoch),
    )


if __name__ == "__main__":
    main()
