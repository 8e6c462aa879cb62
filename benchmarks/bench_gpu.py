"""MLP training speed on one GPU: gpukeras (CuPy) vs an expert PyTorch eager loop.

The work is bench_mlp's: MLP 784-512-512-10 (relu, relu, softmax), RMSprop (lr 1e-3, rho
0.9, eps 1e-7), categorical crossentropy, shuffled each epoch, ``--samples`` synthetic
samples, at each of ``--batch-sizes``. Both keep the data on the device and read nothing back
per step (PyTorch accumulates loss and accuracy on the device and reads them once per
epoch, as gpukeras's lazy logs do). Seconds per epoch are the best of ``--repeats`` epochs
after a warm-up epoch (CuPy compiles its kernels then), timed to a device synchronisation.

Modes (``--modes``): ``float32``; ``tf32`` (gpukeras ``backend.enable_tf32()``, PyTorch
``allow_tf32``); ``mixed_float16`` (gpukeras policy + dynamic loss scaling, PyTorch
autocast + GradScaler). Kernel launches per step are counted with torch.profiler for both
(CuPy has no launch counter of its own, but CUPTI sees every kernel in the process); without
PyTorch, gpukeras prints ``n/a``.

    python benchmarks/bench_gpu.py [--samples 60000] [--batch-sizes 128 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402
import bench_mlp  # noqa: E402

MODES = ("float32", "tf32", "mixed_float16")


def work_gpukeras(samples: int, batch: int, repeats: int, mode: str) -> dict:
    os.environ["GPUKERAS_BACKEND"] = "cupy"
    import gpukeras as keras

    if mode == "tf32":
        keras.backend.enable_tf32()
    if mode == "mixed_float16":
        keras.mixed_precision.set_global_policy("mixed_float16")
    x, y, _ = bench_mlp.make_data(samples)
    model = keras.Sequential(
        [keras.Input((784,))]
        + [keras.layers.Dense(512, activation="relu") for _ in range(2)]
        + [keras.layers.Dense(10, activation="softmax", dtype="float32")]
    )
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    x, y = keras.backend.to_device(x), keras.backend.to_device(y)
    syncs = []

    def epoch():
        before = keras.backend.host_syncs()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        keras.backend.to_host(model.layers[0].kernel.value[0, 0])  # wait for the device
        syncs.append(keras.backend.host_syncs() - before - 1)

    seconds = bench_mlp.time_epochs(epoch, repeats)
    launches = _gpukeras_launches(model, x, y, batch)
    return {"seconds": seconds, "host_syncs": syncs[-1], "launches": launches}


def _gpukeras_launches(model, x, y, batch, steps: int = 5) -> float | str:
    """CUDA kernels per training step, counted by torch.profiler (CUPTI traces every kernel
    in the process, CuPy's included); ``n/a`` without PyTorch. One short unshuffled fit of
    ``steps`` batches; its once-per-epoch work (the logs' one read) is spread over them."""
    try:
        import torch
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            model.fit(x[: steps * batch], y[: steps * batch], batch_size=batch, epochs=1,
                      shuffle=False, verbose=0)  # fmt: skip
            torch.cuda.synchronize()
        kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
        return round(len(kernels) / steps, 1) if kernels else "n/a (none traced)"
    except Exception as exc:  # noqa: BLE001 - profiling is a nice-to-have
        return f"n/a ({type(exc).__name__})"


def work_torch(samples: int, batch: int, repeats: int, mode: str) -> dict:
    try:
        import torch
    except ImportError:
        return {"skipped": "PyTorch is not installed"}
    if not torch.cuda.is_available():
        return {"skipped": "PyTorch has no CUDA device"}
    device = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
    x, _, labels = bench_mlp.make_data(samples)
    x, labels = torch.from_numpy(x).to(device), torch.from_numpy(labels).to(device)
    nn = torch.nn
    net = nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    ).to(device)
    optimizer = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    mixed = mode == "mixed_float16"
    scaler = torch.amp.GradScaler("cuda", enabled=mixed)

    def step(xb, yb, loss_sum, correct):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=mixed):
            logits = net(xb)
            loss = loss_fn(logits.float(), yb)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        loss_sum += loss.detach() * xb.shape[0]
        correct += (logits.detach().argmax(1) == yb).sum()

    def epoch():
        order = torch.randperm(samples, device=device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for start in range(0, samples, batch):
            index = order[start : start + batch]
            step(x[index], labels[index], loss_sum, correct)
        float(loss_sum), int(correct)  # one read per epoch; waits for the device

    seconds = bench_mlp.time_epochs(epoch, repeats)
    return {"seconds": seconds, "launches": _torch_launches(torch, step, x, labels, batch)}


def _torch_launches(torch, step, x, labels, batch) -> float | str:
    """CUDA kernels per training step, from torch.profiler (a mean over 5 steps)."""
    try:
        from torch.profiler import ProfilerActivity, profile

        loss_sum = torch.zeros((), device="cuda")
        correct = torch.zeros((), dtype=torch.int64, device="cuda")
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                step(x[:batch], labels[:batch], loss_sum, correct)
            torch.cuda.synchronize()
        kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
        return round(len(kernels) / 5, 1)
    except Exception as exc:  # noqa: BLE001 - profiling is a nice-to-have
        return f"n/a ({type(exc).__name__})"


WORKERS = {"gpukeras": work_gpukeras, "pytorch": work_torch}


def run_worker(name: str, batch: int, mode: str, args: argparse.Namespace) -> dict:
    command = [
        sys.executable, os.path.abspath(__file__), "--worker", name, "--batch", str(batch),
        "--mode", mode, "--samples", str(args.samples), "--repeats", str(args.repeats),
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=_harness.ROOT)
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {args.timeout} s"}
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        error = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"failed ({error[:200]})"}
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--timeout", type=int, default=240, help="per worker, seconds")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--worker", default=None, choices=list(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=128, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="float32", choices=list(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        found = WORKERS[args.worker](args.samples, args.batch, args.repeats, args.mode)
        print(json.dumps(found))
        return found
    results: dict = {}
    print(f"MLP 784-512-512-10 on the GPU, RMSprop, {args.samples} samples, best of {args.repeats}")
    print(f"  {'mode':<14}{'batch':>6}  {'framework':<10}{'s/epoch':>9}{'gpukeras/x':>12}"
          f"{'launches/step':>15}{'syncs':>7}")  # fmt: skip
    for mode in args.modes:
        for batch in args.batch_sizes:
            rows = {name: run_worker(name, batch, mode, args) for name in WORKERS}
            results[f"{mode}/{batch}"] = rows
            base = rows["gpukeras"].get("seconds")
            for name, row in rows.items():
                if "skipped" in row:
                    print(f"  {mode:<14}{batch:>6}  {name:<10} skipped: {row['skipped']}")
                    continue
                ratio = f"{base / row['seconds']:.2f}x" if base else "-"
                print(
                    f"  {mode:<14}{batch:>6}  {name:<10}{row['seconds']:>9.3f}{ratio:>12}"
                    f"{row.get('launches', '-')!s:>15}{row.get('host_syncs', '-')!s:>7}",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return results


if __name__ == "__main__":
    main()
