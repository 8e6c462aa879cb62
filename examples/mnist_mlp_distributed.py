"""Data-parallel training of a multilayer perceptron on handwritten digits, over MPI.

The same script runs on one process or on several; with N ranks each one trains on its own
slice of every global batch of N * batch-size rows, and the gradients are averaged each step:

    python examples/mnist_mlp_distributed.py                                 # one process
    mpiexec -n 2 python -m mpi4py examples/mnist_mlp_distributed.py          # two ranks

``python -m mpi4py`` makes a rank that fails abort the whole job instead of leaving the others
waiting. Needs ``pip install 'gpukeras[mpi]'`` (mpi4py and the mpich wheel). On GPUs each rank
uses its node's GPU number ``local_rank`` and reduces gradients with NCCL.
"""

from __future__ import annotations

import argparse
import time

import gpukeras as keras
import gpukeras.distributed as dist
from gpukeras.datasets import digits
from gpukeras.layers import Dense, Dropout
from gpukeras.models import Sequential

NUM_CLASSES = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="samples per step on each rank (default 32)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    return parser.parse_args()


def load():
    """Flattened float32 8x8 digits scaled to [0, 1] and one-hot labels."""
    (x_train, y_train), (x_test, y_test) = digits.load_data()

    def features(images):
        return images.reshape(len(images), -1).astype("float32") / 16.0

    def one_hot(labels):
        return keras.utils.to_categorical(labels, NUM_CLASSES)

    return (features(x_train), one_hot(y_train)), (features(x_test), one_hot(y_test))


def build_model(num_features: int) -> Sequential:
    model = Sequential()
    model.add(Dense(64, activation="relu", input_shape=(num_features,)))
    model.add(Dropout(0.2))
    model.add(Dense(64, activation="relu"))
    model.add(Dropout(0.2))
    model.add(Dense(NUM_CLASSES, activation="softmax"))
    # The global batch grows with the ranks, so the rate does too (warmed up below).
    optimizer = keras.optimizers.RMSprop(learning_rate=0.001 * dist.size())
    model.compile(
        loss="categorical_crossentropy",
        optimizer=dist.DistributedOptimizer(optimizer),
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    args = parse_args()
    dist.init()  # first: it binds this rank to its GPU before any array exists
    # A seed per rank gives each rank its own dropout masks; BroadcastGlobalVariables then
    # starts all of them from rank 0's weights.
    keras.utils.set_random_seed(args.seed + dist.rank())
    (x_train, y_train), (x_test, y_test) = load()
    if dist.is_chief():
        print(
            f"UCI digits (8x8): {len(x_train)} training and {len(x_test)} test images, "
            f"{dist.size()} rank(s), backend {keras.backend.backend()}"
        )
    model = build_model(x_train.shape[1])
    callbacks = [
        dist.MetricAverage(),  # first, so the callbacks after it see the averages
        dist.BroadcastGlobalVariables(root_rank=0),
        dist.LearningRateWarmup(warmup_epochs=3),
    ]
    started = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=2,  # data-parallel fit prints on rank 0 only
        callbacks=callbacks,
        validation_data=(x_test, y_test),
    )
    seconds = time.perf_counter() - started
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    if dist.is_chief():
        print(f"Trained {args.epochs} epochs in {seconds:.1f} s on {dist.size()} rank(s)")
        print(f"Test loss: {float(loss):.4f}")
        print(f"Test accuracy: {float(accuracy):.4f}")


if __name__ == "__main__":
    main()
