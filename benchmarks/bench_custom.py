"""User-written models vs the built-in path: functional, subclassed, two-output and
custom-loss MLPs.

The work is bench_mlp.py's: the MLP 784-512-512-10 (relu, relu, softmax), RMSprop, one-hot
targets, shuffled each epoch, on ``--samples`` seeded samples at each of ``--batch-sizes``.
Five gpukeras variants, each in its own process pinned to one core with one BLAS thread:

- ``sequential``: ``Sequential`` + ``'categorical_crossentropy'`` (the fused step);
- ``subclassed``: the same layers in a subclassed ``keras.Model`` with ``call()`` (the tape
  step: each Dense one node with its hand-written backward); target at most 1.10x;
- ``functional``: the same layers as ``keras.Model(inputs, outputs)``: a plain chain, so
  the fused step of the Sequential runs it (bit-identical); target at most 1.05x;
- ``two outputs``: the subclassed model with a second head, ``Dense(1)`` on the last
  hidden layer trained with ``'mse'`` against a second target, ``loss=[crossentropy, 'mse']``
  (the several-outputs step: per-output losses and metrics in one stats vector);
- ``custom loss``: the ``Sequential`` with crossentropy written as a plain function in
  ``gpukeras.ops`` (the tape step, the loss traced op by op); target at most 1.2x.

Seconds per epoch are the best of ``--repeats`` epochs after a warm-up epoch and the best
of ``--rounds`` interleaved runs of every variant; ``syncs`` is host reads per epoch.

Run (not a test; numbers are noisy when other processes share the core):
    python benchmarks/bench_custom.py [--samples 30000] [--batch-sizes 128 1024]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

LAYERS = (784, 512, 512, 10)
VARIANTS = ("sequential", "functional", "subclassed", "two outputs", "custom loss")
TARGETS = {"functional": 1.05, "subclassed": 1.10, "custom loss": 1.2}


def make_data(samples: int):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((samples, LAYERS[0]), dtype=np.float32)
    labels = rng.integers(0, LAYERS[-1], samples)
    return x, np.eye(LAYERS[-1], dtype=np.float32)[labels]


def build(keras, variant: str):
    """The compiled model of ``variant`` (the same layers and seed in each)."""
    keras.utils.set_random_seed(0)
    dense = keras.layers.Dense
    hidden = [dense(n, activation="relu") for n in LAYERS[1:-1]]
    head = dense(LAYERS[-1], activation="softmax")
    loss = "categorical_crossentropy"
    metrics: list = ["accuracy"]
    if variant in ("subclassed", "two outputs"):
        second = dense(1) if variant == "two outputs" else None

        class MLP(keras.Model):
            def __init__(self):
                super().__init__()
                self.hidden = hidden
                self.head = head
                self.second = second

            def call(self, inputs):
                for layer in self.hidden:
                    inputs = layer(inputs)
                if self.second is None:
                    return self.head(inputs)
                return [self.head(inputs), self.second(inputs)]

        model = MLP()
        model.build((None, LAYERS[0]))
        if second is not None:
            loss, metrics = [loss, "mse"], [["accuracy"], []]
    elif variant == "functional":
        inputs = keras.Input((LAYERS[0],))
        x = inputs
        for layer in [*hidden, head]:
            x = layer(x)
        model = keras.Model(inputs, x)
    else:
        model = keras.Sequential([keras.Input((LAYERS[0],)), *hidden, head])
    if variant == "custom loss":
        ops = keras.ops

        def crossentropy(y_true, y_pred):
            clipped = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
            return -ops.sum(y_true * ops.log(clipped), axis=-1)

        loss = crossentropy
    model.compile("rmsprop", loss, metrics=metrics)
    return model


def work(variant: str, samples: int, batch: int, repeats: int, backend: str) -> dict:
    os.environ["GPUKERAS_BACKEND"] = backend
    import gpukeras as keras

    model = build(keras, variant)
    x, y = (keras.backend.to_device(a) for a in make_data(samples))
    if variant == "two outputs":
        y = [y, x[:, :1]]  # the second head regresses the first pixel
    syncs = []

    def epoch():
        before = keras.backend.host_syncs()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        syncs.append(keras.backend.host_syncs() - before)

    epoch()  # warm-up: buffers, optimizer slots
    return {"seconds": _harness.best_of(epoch, repeats), "host_syncs": syncs[-1]}


def run_worker(variant: str, batch: int, args: argparse.Namespace) -> dict:
    command = [
        sys.executable, os.path.abspath(__file__), "--worker", variant, "--batch", str(batch),
        "--samples", str(args.samples), "--repeats", str(args.repeats),
        "--core", str(args.core), "--backend", args.backend,
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=_harness.ROOT)
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        error = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"failed ({error[:160]})"}
    return json.loads(lines[-1])


def measure(args: argparse.Namespace) -> dict:
    results: dict = {batch: {} for batch in args.batch_sizes}
    for _ in range(args.rounds):  # interleaved: a burst of contention hits one round only
        for batch in args.batch_sizes:
            for variant in VARIANTS:
                found = run_worker(variant, batch, args)
                best = results[batch].get(variant)
                if best is None or found.get("seconds", math.inf) < best.get("seconds", math.inf):
                    results[batch][variant] = found
    return results


def report(results: dict, args: argparse.Namespace) -> None:
    print(
        f"MLP 784-512-512-10, RMSprop, {args.samples} samples, core {args.core}, 1 thread, "
        f"best of {args.rounds} rounds x {args.repeats} epochs (s/epoch; x = time / sequential)"
    )
    for batch, found in results.items():
        print(f"batch {batch}:")
        print(f"  {'variant':<16}{'s/epoch':>9}{'x':>8}{'target':>8}{'syncs':>7}")
        base = found.get("sequential", {}).get("seconds")
        for name, row in found.items():
            if "skipped" in row:
                print(f"  {name:<16} skipped: {row['skipped']}")
                continue
            ratio = f"{row['seconds'] / base:.2f}" if base else "-"
            target = f"<={TARGETS[name]:.2f}" if name in TARGETS else "-"
            syncs = str(row.get("host_syncs", "-"))
            print(f"  {name:<16}{row['seconds']:>9.3f}{ratio:>8}{target:>8}{syncs:>7}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30000, help="default 30000")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs, best kept")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved runs, best kept")
    parser.add_argument("--core", type=int, default=0, help="CPU core to pin to (default 0)")
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--worker", default=None, choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=128, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.worker:
        _harness.pin(args.core)
        found = work(args.worker, args.samples, args.batch, args.repeats, args.backend)
        print(json.dumps(found))
        return {}
    started = time.perf_counter()
    results = measure(args)
    report(results, args)
    print(f"(measured in {time.perf_counter() - started:.0f} s)")
    return results


if __name__ == "__main__":
    main()
