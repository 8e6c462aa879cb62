"""Before/after on one machine in one run: the working tree against an earlier commit.

A change to a hot path is judged by timing it against the code it replaces, taking turns
so that a burst of load from elsewhere hits both sides. This script exports ``--base``
(default ``HEAD~1``) with ``git archive`` into a temporary folder (the checkout is not
touched), then runs each workload on the base and on the working tree in alternation, each
run in its own process pinned to one core with one BLAS thread.

Workloads (public Keras API only, so any commit runs them):

- ``mlp``: Sequential 784-512-512-10, RMSprop, categorical crossentropy (the fused step);
- ``cnn``: Sequential Conv2D-MaxPooling-Conv2D-MaxPooling-Flatten-Dense on 28x28x1;
- ``lstm``: Sequential LSTM(64)-Dense on 30 steps of 16 features;
- ``subclassed``: the MLP as a subclassed ``Model`` with ``call()`` (the tape step);
- ``custom-loss``: the Sequential MLP with crossentropy written in ``gpukeras.ops``.

Seconds per epoch are the best of ``--repeats`` epochs after a warm-up epoch, then the best
over ``--rounds``; ``syncs`` is host reads per epoch. The table also gives each tape-step
workload against the Sequential MLP of the same tree.

    python benchmarks/bench_commits.py [--base a1bcb1a] [--rounds 3] [--workloads mlp cnn]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

WORKLOADS = ("mlp", "cnn", "lstm", "subclassed", "custom-loss")
BATCH = {"mlp": 128, "cnn": 64, "lstm": 64, "subclassed": 128, "custom-loss": 128}
TAPE_WORKLOADS = ("subclassed", "custom-loss")


def _data(keras, workload: str, samples: int):
    import numpy as np

    rng = np.random.default_rng(0)
    shape = {"cnn": (28, 28, 1), "lstm": (30, 16)}.get(workload, (784,))
    x = rng.random((samples, *shape), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]
    return keras.backend.to_device(x), keras.backend.to_device(y)


def _mlp_layers(keras):
    dense = keras.layers.Dense
    return [dense(512, activation="relu"), dense(512, activation="relu"), dense(10, "softmax")]


def build(keras, workload: str):
    """The compiled model of ``workload``; the same seed on every tree."""
    keras.utils.set_random_seed(0)
    layers, loss = keras.layers, "categorical_crossentropy"
    if workload == "cnn":
        stack = [
            keras.Input((28, 28, 1)), layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(), layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10, activation="softmax"),
        ]  # fmt: skip
    elif workload == "lstm":
        stack = [keras.Input((30, 16)), layers.LSTM(64), layers.Dense(10, activation="softmax")]
    else:
        stack = [keras.Input((784,)), *_mlp_layers(keras)]
    model = keras.Sequential(stack)
    if workload == "subclassed":
        model = _subclassed(keras, stack[1:])
    if workload == "custom-loss":
        ops = keras.ops

        def loss(y_true, y_pred):
            return -ops.sum(y_true * ops.log(ops.clip(y_pred, 1e-7, 1.0 - 1e-7)), axis=-1)

    model.compile(optimizer="rmsprop", loss=loss)
    return model


def _subclassed(keras, layers):
    class MLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = layers

        def call(self, inputs):
            for layer in self.blocks:
                inputs = layer(inputs)
            return inputs

    model = MLP()
    model.build((None, 784))
    return model


def work(workload: str, samples: int, repeats: int) -> dict:
    import gpukeras as keras

    model = build(keras, workload)
    x, y = _data(keras, workload, samples)
    syncs = []

    def epoch():
        before = keras.backend.host_syncs()
        model.fit(x, y, batch_size=BATCH[workload], epochs=1, verbose=0)
        syncs.append(keras.backend.host_syncs() - before)

    epoch()
    return {"seconds": _harness.best_of(epoch, repeats), "syncs": syncs[-1]}


def export(revision: str, folder: str) -> str:
    """The tree of ``revision`` unpacked under ``folder`` (``git archive``)."""
    archive = os.path.join(folder, "base.tar")
    with open(archive, "wb") as out:
        subprocess.run(["git", "-C", _harness.ROOT, "archive", revision], stdout=out, check=True)
    tree = os.path.join(folder, "base")
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_worker(tree: str, workload: str, args: argparse.Namespace) -> dict:
    command = [
        sys.executable, os.path.abspath(__file__), "--worker", workload,
        "--samples", str(args.samples), "--repeats", str(args.repeats), "--core", str(args.core),
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=tree, GPUKERAS_BACKEND="numpy")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        error = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": error[:160]}
    return json.loads(lines[-1])


def measure(trees: dict[str, str], args: argparse.Namespace) -> dict:
    best: dict = {name: {} for name in trees}
    for _ in range(args.rounds):
        for workload in args.workloads:
            for name, tree in trees.items():  # base, then new: taking turns
                found = run_worker(tree, workload, args)
                kept = best[name].get(workload)
                if kept is None or found.get("seconds", math.inf) < kept.get("seconds", math.inf):
                    best[name][workload] = found
    return best


def report(best: dict, args: argparse.Namespace) -> None:
    print(
        f"base {args.base} vs working tree; {args.samples} samples, core {args.core}, 1 thread, "
        f"best of {args.rounds} rounds x {args.repeats} epochs (s/epoch)"
    )
    print(f"{'workload':<13}{'base':>9}{'new':>9}{'new/base':>10}{'syncs':>8}{'x mlp':>8}")
    for workload in args.workloads:
        base, new = best["base"].get(workload, {}), best["new"].get(workload, {})
        if "seconds" not in base or "seconds" not in new:
            print(f"{workload:<13} skipped: {base.get('skipped') or new.get('skipped')}")
            continue
        ratio = new["seconds"] / base["seconds"]
        mlp = best["new"].get("mlp", {}).get("seconds")
        versus = f"{new['seconds'] / mlp:.2f}" if workload in TAPE_WORKLOADS and mlp else "-"
        syncs = f"{base['syncs']}/{new['syncs']}"
        row = f"{base['seconds']:>9.3f}{new['seconds']:>9.3f}{ratio:>10.3f}{syncs:>8}{versus:>8}"
        print(f"{workload:<13}{row}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD~1", help="commit to compare with (HEAD~1)")
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--samples", type=int, default=6400, help="default 6400")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs, best kept")
    parser.add_argument("--rounds", type=int, default=3, help="turns taken, best kept")
    parser.add_argument("--core", type=int, default=0, help="CPU core to pin to (default 0)")
    parser.add_argument("--worker", default=None, choices=WORKLOADS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.worker:
        _harness.pin(args.core)
        sys.path.insert(0, os.environ["PYTHONPATH"])  # the tree under test, before ROOT
        print(json.dumps(work(args.worker, args.samples, args.repeats)))
        return {}
    with tempfile.TemporaryDirectory() as folder:
        trees = {"base": export(args.base, folder), "new": _harness.ROOT}
        best = measure(trees, args)
    report(best, args)
    return best


if __name__ == "__main__":
    main()
