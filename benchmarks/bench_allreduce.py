"""Data-parallel costs on the CPU: allreduce bandwidth, and training step time at 1 and 2 ranks.

Run (not a test; numbers are noisy when other processes share the cores):
    .venv/bin/python benchmarks/bench_allreduce.py [--ranks 1 2] [--steps 40]

It launches itself as ``mpiexec -n N python -m mpi4py benchmarks/bench_allreduce.py --worker``
for each N (mpiexec found beside this Python, else on PATH; ``pip install -e '.[mpi]'``). Each
rank is pinned to core ``rank`` with one BLAS thread, on the NumPy backend. It prints:

- allreduce: the median time of one in-place sum-allreduce of a float32 buffer (gpukeras's
  ``backend.Collectives``, what DistributedOptimizer uses), its algorithm bandwidth
  (bytes / time) and bus bandwidth (x 2(N-1)/N, comparable across rank counts);
- step time: one data-parallel ``fit`` step of an MLP (784-512-512-10, Adam, batch 64 per
  rank), and the weak-scaling efficiency ``t(1 rank) / t(N ranks)`` (1.0 is perfect).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20)
BATCH, FEATURES, HIDDEN, CLASSES = 64, 784, 512, 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=40, help="timed fit steps (default 40)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


# -- the worker, one per rank ------------------------------------------------------------------
def pin_this_rank(rank: int) -> None:
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cores:
        os.sched_setaffinity(0, {cores[rank % len(cores)]})


def time_allreduce(collectives, comm, nbytes: int) -> float:
    import numpy as np

    buffer = np.ones(nbytes // 4, dtype=np.float32)
    repeats = max(5, min(200, (32 << 20) // nbytes))
    times = []
    for repeat in range(repeats + 2):
        comm.Barrier()
        started = time.perf_counter()
        collectives.allreduce_sum(buffer)
        if repeat >= 2:  # the first two warm the buffers up
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_step(steps: int) -> float:
    import numpy as np

    import gpukeras as keras
    import gpukeras.distributed as dist
    from gpukeras.layers import Dense
    from gpukeras.models import Sequential

    keras.utils.set_random_seed(0)
    model = Sequential(
        [
            Dense(HIDDEN, activation="relu", input_shape=(FEATURES,)),
            Dense(HIDDEN, activation="relu"),
            Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(dist.DistributedOptimizer(keras.optimizers.Adam()), "categorical_crossentropy")
    rng = np.random.default_rng(0)
    samples = (steps + 3) * BATCH * dist.size()
    x = rng.random((samples, FEATURES), dtype=np.float32)
    y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, samples)]
    model.fit(x, y, batch_size=BATCH, epochs=1, steps_per_epoch=3, verbose=0)  # warm-up
    dist.barrier()
    started = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, steps_per_epoch=steps, verbose=0)
    dist.barrier()
    return (time.perf_counter() - started) / steps


def worker(steps: int) -> None:
    import gpukeras.distributed as dist
    from gpukeras.distributed import _context

    dist.init(verbose=0)
    pin_this_rank(dist.rank())
    collectives, comm = _context.collectives(), _context.communicator()
    allreduce = {str(n): time_allreduce(collectives, comm, n) for n in SIZES}
    step = time_step(steps)
    if dist.is_chief():
        print(json.dumps({"ranks": dist.size(), "allreduce": allreduce, "step": step}))


# -- the launcher ------------------------------------------------------------------------------
def launch(ranks: int, steps: int) -> dict | str:
    beside = Path(sys.executable).parent / "mpiexec"
    mpiexec = str(beside) if beside.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        return "no mpiexec (pip install -e '.[mpi]')"
    env = {
        **os.environ,
        "GPUKERAS_BACKEND": "numpy",
        "PYTHONPATH": str(ROOT),
        "HYDRA_LAUNCHER": "fork",
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_rmaps_base_oversubscribe": "1",
    }
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py", __file__]
    result = subprocess.run(
        [*command, "--worker", "--steps", str(steps)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        return f"failed: {(result.stderr.strip().splitlines() or ['no output'])[-1]}"
    return json.loads(lines[-1])


def report(results: dict[int, dict | str]) -> None:
    print(f"cores available: {len(os.sched_getaffinity(0))}; NumPy backend, 1 BLAS thread/rank")
    print("\nallreduce (in place, float32, median):")
    print(f"  {'ranks':>5} {'bytes':>10} {'time':>11} {'algbw':>11} {'busbw':>11}")
    for ranks, result in results.items():
        if isinstance(result, str):
            print(f"  {ranks:>5} skipped: {result}")
            continue
        for nbytes, seconds in result["allreduce"].items():
            if ranks == 1:  # MPI returns at once: there is nothing to exchange
                bandwidth = f"{'-':>11} {'-':>11}"
            else:
                algbw = int(nbytes) / seconds / 1e9
                busbw = algbw * 2 * (ranks - 1) / ranks
                bandwidth = f"{algbw:>7.2f}GB/s {busbw:>7.2f}GB/s"
            print(f"  {ranks:>5} {int(nbytes):>10} {seconds * 1e6:>9.1f}us {bandwidth}")
    print(f"\nfit step, MLP {FEATURES}-{HIDDEN}-{HIDDEN}-{CLASSES}, batch {BATCH} per rank:")
    base = results.get(1)
    for ranks, result in results.items():
        if isinstance(result, str):
            continue
        step = result["step"]
        line = (
            f"  {ranks} rank(s): {step * 1e3:7.2f} ms/step, {ranks * BATCH / step:8.0f} samples/s"
        )
        if isinstance(base, dict) and ranks != 1:
            line += f", weak-scaling efficiency {base['step'] / step:.2f}"
        print(line)


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args.steps)
        return
    report({ranks: launch(ranks, args.steps) for ranks in args.ranks})


if __name__ == "__main__":
    main()
