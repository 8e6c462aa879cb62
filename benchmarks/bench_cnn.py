"""CNN training speed: gpukeras vs PyTorch (CPU, eager) vs Keras 3 on JAX, on one core.

The model is the Keras MNIST convnet: Conv2D(32, 3x3, relu), MaxPooling2D(2), Conv2D(64,
3x3, relu), MaxPooling2D(2), Flatten, Dropout(0.5), Dense(10, softmax); Adam, categorical
cross-entropy, batch 128, synthetic 28x28x1 images. Each framework trains ``--steps`` steps
per timing, best of ``--repeats`` after a warm-up; gpukeras and PyTorch take turns for
``--rounds`` rounds (so a burst of load from other processes hits both), and the median of
the rounds' best timings is scaled to one MNIST epoch (60,000 samples = 469 steps) and
printed as seconds per epoch with ratios, with the load average before and after. glibc is
told to keep freed memory (see :func:`keep_freed_memory`) unless ``--default-malloc``.

Run (not a test; numbers are noisy when other processes share the core):
    .venv/bin/python benchmarks/bench_cnn.py [--steps 20] [--repeats 3] [--rounds 3] [--core 0]
PyTorch (an optional `bench` extra) is skipped when not installed; Keras runs in a
subprocess with ``--keras-python`` (default /tmp/kerasref/bin/python) and is skipped when it
cannot import keras with JAX. ``--backend cupy`` times gpukeras on the GPU, and PyTorch on
CUDA when it has it, instead.
"""

from __future__ import annotations

import argparse
import ctypes
import math
import os
import statistics
import sys
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

BATCH, CLASSES, EPOCH_SAMPLES = 128, 10, 60000
STEPS_PER_EPOCH = math.ceil(EPOCH_SAMPLES / BATCH)


def data(steps: int):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((steps * BATCH, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, CLASSES, steps * BATCH)
    return x, np.eye(CLASSES, dtype=np.float32)[labels], labels


def keep_freed_memory() -> bool:
    """glibc: serve large arrays from the heap instead of fresh mmaps that fault in page by
    page every step (PyTorch frees and reallocates its activations each step, which costs it
    ~40% unless an earlier workload happened to raise glibc's adaptive threshold). Both
    frameworks run with the same setting, their best case. Returns whether it applied."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 1 << 26) and libc.mallopt(m_trim_threshold, 1 << 28))


def gpukeras_runner(steps: int, backend: str) -> Callable[[], None]:
    """A function training the gpukeras model for ``steps`` steps (built and warmed up)."""
    os.environ["GPUKERAS_BACKEND"] = backend
    import gpukeras as keras
    from gpukeras import layers

    model = keras.models.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y, _ = data(steps)
    x, y = keras.backend.to_device(x), keras.backend.to_device(y)
    model.fit(x[: 2 * BATCH], y[: 2 * BATCH], batch_size=BATCH, verbose=0)  # warm-up

    def run():
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        keras.backend.to_host(model.layers[0].kernel.value[0, 0, 0, 0])  # wait for the GPU

    return run


def torch_runner(steps: int, backend: str) -> Callable[[], None] | str:
    """The same for PyTorch (eager), or why it cannot run."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed (pip install gpukeras[bench])"
    torch.set_num_threads(1)
    device = "cuda" if backend == "cupy" and torch.cuda.is_available() else "cpu"
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, CLASSES),
    ).to(device)  # fmt: skip
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x, _, labels = data(steps)
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(device)  # NCHW, its fast path
    labels = torch.from_numpy(labels).to(device)

    def run(count=steps):
        for i in range(count):
            batch = slice(i * BATCH, (i + 1) * BATCH)
            optimizer.zero_grad()
            loss = loss_fn(net(x[batch]), labels[batch])
            loss.backward()
            optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()

    run(2)  # warm-up
    return run


def time_in_turns(
    runners: dict[str, Callable[[], None] | str], steps: int, repeats: int, rounds: int
) -> dict[str, float | str]:
    """Seconds per step of each runner: the median over ``rounds`` of its best of
    ``repeats``, the runners taking turns within each round."""
    timings: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            if not isinstance(run, str):
                timings[name].append(_harness.best_of(run, repeats) / steps)
    return {
        name: run if isinstance(run, str) else statistics.median(timings[name])
        for name, run in runners.items()
    }


KERAS_SOURCE = """
import json, os, time
os.environ["KERAS_BACKEND"] = "jax"
import numpy as np
import keras
from keras import layers
steps, repeats, batch = {steps}, {repeats}, {batch}
model = keras.Sequential([
    keras.Input((28, 28, 1)),
    layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
    layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
    layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
rng = np.random.default_rng(0)
x = rng.random((steps * batch, 28, 28, 1), dtype=np.float32)
y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, steps * batch)]
model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # compiles
best = float("inf")
for _ in range(repeats):
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    best = min(best, time.perf_counter() - started)
print(json.dumps({{"per_step": best / steps}}))
"""


def time_keras(python: str, steps: int, repeats: int) -> float | str:
    found = _harness.run_python(
        python, KERAS_SOURCE.format(steps=steps, repeats=repeats, batch=BATCH)
    )
    return found if isinstance(found, str) else float(found["per_step"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per timing (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="timings, best kept (default 3)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns of best-of timings, median kept (default 3)"
    )
    parser.add_argument("--core", type=int, default=0, help="CPU core to pin to (default 0)")
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--keras-python", default="/tmp/kerasref/bin/python")
    parser.add_argument("--skip", nargs="*", default=[], choices=["torch", "keras"])
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="leave glibc's allocator thresholds alone (PyTorch is then ~40%% slower)",
    )
    args = parser.parse_args()
    _harness.pin(args.core if args.backend == "numpy" else None)
    load_before = os.getloadavg()
    tuned = not args.default_malloc and keep_freed_memory()

    runners: dict[str, Callable[[], None] | str] = {
        f"gpukeras ({args.backend})": gpukeras_runner(args.steps, args.backend)
    }
    if "torch" not in args.skip:
        runners["PyTorch (eager)"] = torch_runner(args.steps, args.backend)
    per_step = time_in_turns(runners, args.steps, args.repeats, args.rounds)
    if "keras" not in args.skip:
        per_step["Keras 3 / JAX"] = time_keras(
            args.keras_python, args.steps, args.repeats * args.rounds
        )
    per_epoch = {
        name: value if isinstance(value, str) else value * STEPS_PER_EPOCH
        for name, value in per_step.items()
    }
    where = f"core {args.core}" if args.backend == "numpy" else "GPU"
    _harness.print_ratios(
        f"Keras MNIST convnet, batch {BATCH}, {STEPS_PER_EPOCH} steps/epoch, {where}, "
        f"median of {args.rounds} rounds of best of {args.repeats} x {args.steps} steps:",
        "s/epoch",
        per_epoch,
        baseline=f"gpukeras ({args.backend})",
    )
    load = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(load_before, os.getloadavg()))
    print(f"  load average (1/5/15 min) before/after: {load} on {os.cpu_count()} CPUs")
    print(f"  glibc large allocations from the heap (mallopt): {'yes' if tuned else 'no'}")


if __name__ == "__main__":
    main()
