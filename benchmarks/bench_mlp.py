"""MLP training speed on one CPU core: gpukeras vs a NumPy loop, PyTorch, Keras 3/JAX, BLAS.

The work: the MNIST-shaped MLP 784-512-512-10 (relu, relu, softmax), RMSprop (Keras
defaults: lr 1e-3, rho 0.9, eps 1e-7), categorical crossentropy with an accuracy metric,
shuffled every epoch, on ``--samples`` synthetic samples (the same seeded data everywhere),
at each of ``--batch-sizes``. Every framework runs in its own subprocess, pinned to one core
with one BLAS/OpenMP/XLA thread, so peak memory (maxrss) is per framework. Seconds per epoch
are the best of ``--repeats`` epochs after one warm-up epoch (which compiles JAX), and the
best of ``--rounds`` interleaved runs of every worker.

Peers:
- ``numpy loop``: a hand-written float32 NumPy training loop with preallocated buffers (the
  floor for framework overhead with NumPy alone; gpukeras's compiled CPU loops go below it);
- ``pytorch``: an expert eager loop (logits + CrossEntropyLoss, RMSprop(alpha=0.9,
  eps=1e-7), no per-step ``.item()``); skipped when torch is missing;
- ``keras 3 / jax``: ``model.fit`` in a subprocess of ``--keras-python`` (or the Python in
  $GPUKERAS_KERAS_PYTHON); skipped with the reason when it cannot import keras and jax;
- ``BLAS bound``: the sgemm rate measured on the model's largest GEMM times the FLOPs one
  epoch needs: forward (2*B*P), weight gradients (2*B*P) and input gradients of layers 2
  and 3 (the first layer's input gradient is not needed).

Run (not a test; numbers are noisy when other processes share the core):
    .venv/bin/python benchmarks/bench_mlp.py [--samples 30000] [--batch-sizes 128 1024]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

LAYERS = (784, 512, 512, 10)
LEARNING_RATE, RHO, EPSILON = 1e-3, 0.9, 1e-7
FRAMEWORKS = ("gpukeras", "numpy loop", "pytorch", "keras 3 / jax", "BLAS bound")
KERAS_PYTHON_ENV = "GPUKERAS_KERAS_PYTHON"


# --- shared --------------------------------------------------------------------------------


def make_data(samples: int):
    """The same seeded float32 inputs, one-hot targets and labels in every subprocess."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((samples, LAYERS[0]), dtype=np.float32)
    labels = rng.integers(0, LAYERS[-1], samples)
    return x, np.eye(LAYERS[-1], dtype=np.float32)[labels], labels


def needed_flops(samples: int) -> float:
    """FLOPs of one epoch: forward + weight gradients + input gradients past layer 1."""
    pairs = list(zip(LAYERS[:-1], LAYERS[1:]))
    weights = sum(a * b for a, b in pairs)
    input_grads = sum(a * b for a, b in pairs[1:])
    return 2.0 * samples * (2 * weights + input_grads)


def time_epochs(run_epoch, repeats: int) -> float:
    run_epoch()  # warm-up (JAX compiles; buffers and slots get allocated)
    return _harness.best_of(run_epoch, repeats)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- workers (each in its own process) -----------------------------------------------------


def work_gpukeras(samples: int, batch: int, repeats: int, backend: str) -> dict:
    os.environ["GPUKERAS_BACKEND"] = backend
    import gpukeras as keras

    x, y, _ = make_data(samples)
    model = keras.Sequential(
        [keras.Input((LAYERS[0],))]
        + [keras.layers.Dense(n, activation="relu") for n in LAYERS[1:-1]]
        + [keras.layers.Dense(LAYERS[-1], activation="softmax")]
    )
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    x, y = keras.backend.to_device(x), keras.backend.to_device(y)
    syncs = []

    def epoch():
        before = keras.backend.host_syncs()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        syncs.append(keras.backend.host_syncs() - before)  # the logs' read waits for the GPU

    seconds = time_epochs(epoch, repeats)
    return {"seconds": seconds, "host_syncs": syncs[-1]}


def work_numpy(samples: int, batch: int, repeats: int) -> dict:
    import numpy as np

    x, y, _ = make_data(samples)
    rng = np.random.default_rng(1)
    params = []
    for fan_in, fan_out in zip(LAYERS[:-1], LAYERS[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        params.append(np.zeros(fan_out, np.float32))
    grads = [np.empty_like(p) for p in params]
    velocity = [np.zeros_like(p) for p in params]
    work = [(np.empty_like(p), np.empty_like(p)) for p in params]
    buffers: dict[int, list] = {}

    def step(xb, yb):
        n = xb.shape[0]
        if n not in buffers:
            buffers[n] = [np.empty((n, width), np.float32) for width in LAYERS[1:] * 2]
        h1, h2, out, g1, g2, g3 = buffers[n]
        np.matmul(xb, params[0], out=h1)
        h1 += params[1]
        np.maximum(h1, 0.0, out=h1)
        np.matmul(h1, params[2], out=h2)
        h2 += params[3]
        np.maximum(h2, 0.0, out=h2)
        np.matmul(h2, params[4], out=out)
        out += params[5]
        out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        loss = -np.log(np.clip((out * yb).sum(axis=1), EPSILON, 1.0 - EPSILON)).sum()
        correct = (out.argmax(axis=1) == yb.argmax(axis=1)).sum()
        np.subtract(out, yb, out=g3)
        g3 *= 1.0 / n
        np.matmul(h2.T, g3, out=grads[4])
        g3.sum(axis=0, out=grads[5])
        np.matmul(g3, params[4].T, out=g2)
        g2 *= h2 > 0.0
        np.matmul(h1.T, g2, out=grads[2])
        g2.sum(axis=0, out=grads[3])
        np.matmul(g2, params[2].T, out=g1)
        g1 *= h1 > 0.0
        np.matmul(xb.T, g1, out=grads[0])
        g1.sum(axis=0, out=grads[1])
        for p, g, v, (a, b) in zip(params, grads, velocity, work):
            v *= RHO
            np.multiply(g, g, out=a)
            a *= 1.0 - RHO
            v += a
            np.add(v, EPSILON, out=a)
            np.sqrt(a, out=a)
            np.multiply(g, LEARNING_RATE, out=b)
            b /= a
            p -= b
        return loss, correct

    def epoch():
        order = rng.permutation(samples)
        totals = [0.0, 0]
        for start in range(0, samples, batch):
            index = order[start : start + batch]
            loss, correct = step(x[index], y[index])
            totals[0] += loss
            totals[1] += correct

    return {"seconds": time_epochs(epoch, repeats)}


def work_torch(samples: int, batch: int, repeats: int) -> dict:
    try:
        import torch
    except ImportError:
        return {"skipped": "PyTorch is not installed (pip install gpukeras[bench])"}
    torch.set_num_threads(1)
    x, _, labels = make_data(samples)
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)
    nn = torch.nn
    net = nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )
    optimizer = torch.optim.RMSprop(net.parameters(), lr=LEARNING_RATE, alpha=RHO, eps=EPSILON)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        order = torch.randperm(samples)
        loss_sum = torch.zeros(())
        correct = torch.zeros((), dtype=torch.int64)
        for start in range(0, samples, batch):
            index = order[start : start + batch]
            xb, yb = x[index], labels[index]
            optimizer.zero_grad(set_to_none=True)
            logits = net(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * xb.shape[0]
            correct += (logits.detach().argmax(1) == yb).sum()
        float(loss_sum), int(correct)  # one read per epoch, like the fit logs

    return {"seconds": time_epochs(epoch, repeats)}


def work_keras(samples: int, batch: int, repeats: int) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    x, y, _ = make_data(samples)
    model = keras.Sequential(
        [keras.Input((LAYERS[0],))]
        + [keras.layers.Dense(n, activation="relu") for n in LAYERS[1:-1]]
        + [keras.layers.Dense(LAYERS[-1], activation="softmax")]
    )
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    seconds = time_epochs(lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0), repeats)
    return {"seconds": seconds, "keras": keras.__version__}


def work_blas(samples: int, batch: int, repeats: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((batch, LAYERS[0]), dtype=np.float32)
    b = rng.random((LAYERS[0], LAYERS[1]), dtype=np.float32)
    out = np.empty((batch, LAYERS[1]), np.float32)
    count = max(5, 2000 // batch)

    def run():
        for _ in range(count):
            np.matmul(a, b, out=out)

    seconds = time_epochs(run, max(repeats, 5)) / count
    rate = 2.0 * batch * LAYERS[0] * LAYERS[1] / seconds
    return {"seconds": needed_flops(samples) / rate, "gflops": rate / 1e9}


WORKERS = {
    "gpukeras": work_gpukeras,
    "numpy loop": work_numpy,
    "pytorch": work_torch,
    "keras 3 / jax": work_keras,
    "BLAS bound": work_blas,
}


def worker_main(args: argparse.Namespace) -> None:
    _harness.pin(args.core)
    work = WORKERS[args.worker]
    extra = (args.backend,) if args.worker == "gpukeras" else ()
    try:
        found = work(args.samples, args.batch, args.repeats, *extra)
    except ImportError as exc:
        found = {"skipped": f"import failed ({exc})"}
    found["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(found))


# --- the driver ----------------------------------------------------------------------------


def keras_python(option: str | None) -> str:
    return option or os.environ.get(KERAS_PYTHON_ENV) or "/tmp/kerasref/bin/python"


def run_worker(name: str, batch: int, args: argparse.Namespace) -> dict:
    python = keras_python(args.keras_python) if name == "keras 3 / jax" else sys.executable
    if not os.path.exists(python):
        return {"skipped": f"{python} not found (set {KERAS_PYTHON_ENV} or --keras-python)"}
    command = [
        python, os.path.abspath(__file__), "--worker", name, "--batch", str(batch),
        "--samples", str(args.samples), "--repeats", str(args.repeats),
        "--core", str(args.core), "--backend", args.backend,
    ]  # fmt: skip
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=_harness.ROOT)
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"skipped": "timed out"}
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        error = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"failed ({error[:160]})"}
    return json.loads(lines[-1])


def measure(args: argparse.Namespace) -> dict:
    """``{batch: {framework: result}}`` for every batch size and framework not skipped."""
    results: dict = {batch: {} for batch in args.batch_sizes}
    for _ in range(args.rounds):  # interleaved rounds: a burst of contention hits one round
        for batch in args.batch_sizes:
            for name in FRAMEWORKS:
                if name in args.skip:
                    results[batch][name] = {"skipped": "--skip"}
                    continue
                found = run_worker(name, batch, args)
                best = results[batch].get(name)
                if best is None or found.get("seconds", math.inf) < best.get("seconds", math.inf):
                    results[batch][name] = found
    return results


def report(results: dict, args: argparse.Namespace) -> None:
    print(
        f"MLP 784-512-512-10, RMSprop, {args.samples} samples, core {args.core}, 1 thread, "
        f"best of {args.rounds} rounds x {args.repeats} epochs (s/epoch; ratio = gpukeras / peer)"
    )
    for batch, found in results.items():
        print(f"batch {batch}:")
        print(f"  {'framework':<16}{'s/epoch':>9}{'gpukeras/x':>12}{'peak MiB':>10}{'syncs':>7}")
        base = found.get("gpukeras", {}).get("seconds")
        for name, row in found.items():
            if "skipped" in row:
                print(f"  {name:<16} skipped: {row['skipped']}")
                continue
            ratio = f"{base / row['seconds']:.2f}x" if base else "-"
            memory = f"{row['peak_rss_mib']:.0f}" if name != "BLAS bound" else "-"
            syncs = str(row.get("host_syncs", "-"))
            note = f"  ({row['gflops']:.0f} GFLOP/s)" if "gflops" in row else ""
            print(f"  {name:<16}{row['seconds']:>9.3f}{ratio:>12}{memory:>10}{syncs:>7}{note}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30000, help="default 30000")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs, best kept")
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved runs of every worker, best kept"
    )
    parser.add_argument("--core", type=int, default=0, help="CPU core to pin to (default 0)")
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--keras-python", default=None, help=f"default ${KERAS_PYTHON_ENV}")
    parser.add_argument("--skip", nargs="*", default=[], choices=list(FRAMEWORKS))
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--worker", default=None, choices=list(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=128, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.worker:
        worker_main(args)
        return {}
    started = time.perf_counter()
    results = measure(args)
    report(results, args)
    print(f"(measured in {time.perf_counter() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({str(k): v for k, v in results.items()}, handle, indent=1)
    return results


if __name__ == "__main__":
    main()
