"""LSTM training speed: gpukeras vs PyTorch (CPU, eager) vs Keras 3 on JAX, on one core.

The model is Embedding(1000, 64) -> LSTM(128) -> Dense(10, softmax), batch 128,
sequences of 50 random token ids, Adam and sparse categorical crossentropy. Each
framework trains ``--steps`` timed steps after ``--warmup`` steps; the time is
reported per step and per *epoch-equivalent* (``--epoch-samples`` samples, by default
IMDB's 25,000 training reviews, i.e. 196 steps), with ratios against gpukeras.

Run (not a test; numbers are noisy when other processes share the core):
    .venv/bin/python benchmarks/bench_lstm.py [--steps 30] [--warmup 5] [--core 0]
PyTorch is skipped when not installed; Keras runs in a subprocess with
``--keras-python`` (default /tmp/kerasref/bin/python) and is skipped when that
interpreter cannot import keras and jax. ``--backend cupy`` times gpukeras on the GPU
(and PyTorch on CUDA when available) instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _harness import pin  # one core, one BLAS/XLA thread (shared with bench_cnn.py)

VOCAB, EMBED, UNITS, CLASSES, LENGTH, BATCH = 1000, 64, 128, 10, 50, 128


def data(steps: int):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, size=(steps * BATCH, LENGTH)).astype("int32")
    y = rng.integers(0, CLASSES, size=(steps * BATCH,)).astype("int32")
    return x, y


def time_gpukeras(steps: int, warmup: int, backend: str) -> float:
    os.environ["GPUKERAS_BACKEND"] = backend
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from gpukeras import backend as K
    from gpukeras import layers, models

    model = models.Sequential(
        [
            layers.Input((LENGTH,)),
            layers.Embedding(VOCAB, EMBED),
            layers.LSTM(UNITS),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data(steps)
    model.fit(x[: warmup * BATCH], y[: warmup * BATCH], batch_size=BATCH, verbose=0)
    K.to_host(model.weights[0].value[0, 0])  # finish queued device work
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    K.to_host(model.weights[0].value[0, 0])
    return (time.perf_counter() - start) / steps


def time_torch(steps: int, warmup: int, device: str) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCAB, EMBED)
            self.lstm = torch.nn.LSTM(EMBED, UNITS, batch_first=True)
            self.dense = torch.nn.Linear(UNITS, CLASSES)

        def forward(self, tokens):
            _, (h, _) = self.lstm(self.embedding(tokens))
            return self.dense(h[0])

    net = Net().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = data(steps)
    xs = torch.from_numpy(x).long().to(device)
    ys = torch.from_numpy(y).long().to(device)

    def step(i: int) -> None:
        rows = slice(i * BATCH, (i + 1) * BATCH)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(xs[rows]), ys[rows])
        loss.backward()
        optimizer.step()

    for i in range(warmup):
        step(i % steps)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def time_keras(steps: int, warmup: int) -> float:
    os.environ["KERAS_BACKEND"] = "jax"
    import keras

    model = keras.Sequential(
        [
            keras.Input((LENGTH,), dtype="int32"),
            keras.layers.Embedding(VOCAB, EMBED),
            keras.layers.LSTM(UNITS),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data(steps)
    model.fit(x[: warmup * BATCH], y[: warmup * BATCH], batch_size=BATCH, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    return (time.perf_counter() - start) / steps


def keras_in_subprocess(python: str, args: argparse.Namespace) -> float | None:
    probe = subprocess.run(
        [python, "-c", "import keras, jax"],
        capture_output=True,
        env={**os.environ, "KERAS_BACKEND": "jax"},
    ) if os.path.exists(python) else None  # fmt: skip
    if probe is None or probe.returncode != 0:
        return None
    command = [python, os.path.abspath(__file__), "--keras-worker"]
    command += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
    if done.returncode != 0:
        print(f"keras run failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds_per_step"])


def report(results: dict[str, float | None], epoch_steps: int, steps: int) -> None:
    base = results["gpukeras"]
    print(
        f"LSTM benchmark: Embedding({VOCAB},{EMBED}) + LSTM({UNITS}) + Dense({CLASSES}), "
        f"batch {BATCH}, length {LENGTH}, {steps} timed steps; "
        f"epoch-equivalent = {epoch_steps} steps"
    )
    print(f"{'framework':<22}{'ms/step':>10}{'s/epoch':>10}{'vs gpukeras':>14}")
    for name, seconds in results.items():
        if seconds is None:
            print(f"{name:<22}{'skipped':>10}")
            continue
        print(
            f"{name:<22}{seconds * 1e3:>10.1f}{seconds * epoch_steps:>10.2f}"
            f"{seconds / base:>13.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--core", type=int, default=0, help="CPU core to pin to (-1: none)")
    parser.add_argument("--epoch-samples", type=int, default=25_000)
    parser.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    parser.add_argument("--keras-python", default="/tmp/kerasref/bin/python")
    parser.add_argument("--keras-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pin(None if args.core < 0 or args.backend == "cupy" else args.core)
    if args.keras_worker:
        print(json.dumps({"seconds_per_step": time_keras(args.steps, args.warmup)}))
        return
    device = "cuda" if args.backend == "cupy" else "cpu"
    results: dict[str, float | None] = {}
    results["gpukeras"] = time_gpukeras(args.steps, args.warmup, args.backend)
    results[f"pytorch ({device})"] = time_torch(args.steps, args.warmup, device)
    if args.backend == "numpy":
        results["keras 3 (jax, cpu)"] = keras_in_subprocess(args.keras_python, args)
    epoch_steps = -(-args.epoch_samples // BATCH)
    report(results, epoch_steps, args.steps)


if __name__ == "__main__":
    main()
