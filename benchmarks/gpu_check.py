"""The one GPU check: everything a CUDA machine can prove that CI cannot, in under 10 minutes.

Needs gpukeras with its test and mpi extras, a real CuPy (``gpu`` or ``cuda13`` extra),
``ml_dtypes`` (bfloat16) and, for the comparison, PyTorch with CUDA; no network. Steps, each
with its own time limit (seconds, tuned for one H100/H200):

1. refuse to start unless CuPy sees a CUDA device (and is not the tests' stand-in);
2. the whole test suite with ``GPUKERAS_BACKEND=cupy`` (``--suite-limit``, 330): every test,
   not only the ``gpu``-marked ones; ``GPUKERAS_REQUIRE_GPU=1`` turns a skipped ``gpu`` test
   into a failure;
3. the mixed-precision tests, float16 and bfloat16 (``--mixed-limit``, 60);
4. data-parallel training on NCCL (``--nccl-limit``, 60): ``tests/test_distributed.py``'s jobs
   on two ranks when two GPUs are visible, else the distributed example on one rank;
5. ``benchmarks/bench_gpu.py`` at batch 128 and 1024 against PyTorch eager (``--bench-limit``,
   120; its figures are informational).

    python benchmarks/gpu_check.py [--out results_dir]

Prints one summary table. Exit status 0 only when every check step passed; 2 when no CUDA
device is visible. With ``--out`` (or ``$OUT``) each step's log is written there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NO_DEVICE = 2


def visible_devices() -> tuple[int, str]:
    """(number of CUDA devices CuPy sees, why none) without importing gpukeras."""
    try:
        import cupy
    except Exception as exc:  # noqa: BLE001 - any failure means no GPU check
        return 0, f"`import cupy` failed ({type(exc).__name__}: {exc})"
    if getattr(cupy, "STANDIN", False):
        return 0, "the imported cupy is the tests' stand-in (unset GPUKERAS_CUPY_STANDIN)"
    try:
        return int(cupy.cuda.runtime.getDeviceCount()), "getDeviceCount() returned 0"
    except Exception as exc:  # noqa: BLE001 - CUDA errors have no common base
        return 0, f"CuPy found no CUDA device ({type(exc).__name__}: {exc})"


def run(name: str, command: list[str], limit: int, out: str | None, **env: str) -> dict:
    started = time.perf_counter()
    environment = dict(os.environ, GPUKERAS_BACKEND="cupy", PYTHONPATH=ROOT, **env)
    environment.pop("GPUKERAS_CUPY_STANDIN", None)
    print(f"== {name}: $ {' '.join(command)}", flush=True)
    try:
        result = subprocess.run(
            command, cwd=ROOT, env=environment, timeout=limit, capture_output=True, text=True
        )
        code, output = result.returncode, result.stdout + result.stderr
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout or ""
        code = 124
        output = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
        output += f"\nTIMED OUT after {limit} s\n"
    print(output[-4000:], flush=True)
    if out:
        with open(os.path.join(out, f"{name}.log"), "w") as handle:
            handle.write(output)
    last = [line for line in output.strip().splitlines() if line.strip()][-1:] or [""]
    return {"step": name, "code": code, "seconds": time.perf_counter() - started, "last": last[0]}


def pytest_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs", *arguments]


def distributed_step(devices: int, limit: int, out: str | None) -> dict:
    if devices >= 2:
        command = pytest_command("tests/test_distributed.py")
        env = {"GPUKERAS_DISTRIBUTED_BACKEND": "cupy", "GPUKERAS_COLLECTIVES": "nccl"}
        env["GPUKERAS_REQUIRE_MPI"] = "1"
        return run("nccl_two_ranks", command, limit, out, **env)
    # One GPU: NCCL on one rank (NCCL refuses two ranks on one device), reducing and
    # broadcasting device buffers of each float dtype, then the distributed example.
    command = ["mpiexec", "-n", "1", sys.executable, "-m", "mpi4py", "-c", ONE_RANK_NCCL]
    return run("nccl_one_rank", command, limit, out, GPUKERAS_COLLECTIVES="nccl")


ONE_RANK_NCCL = """
import runpy, sys
from mpi4py import MPI
from gpukeras import backend as K
xp = K.array_module()
collectives = K.Collectives(MPI.COMM_WORLD, method="nccl")
for dtype in ("float16", "float32", "float64"):
    buffer = xp.arange(12, dtype=dtype)
    collectives.allreduce_sum(buffer)
    collectives.broadcast(buffer, root=0)
    assert K.to_host(buffer).tolist() == list(range(12)), dtype
collectives.close()
print("NCCL allreduce and broadcast on one rank: ok")
sys.argv = ["mnist_mlp_distributed.py", "--epochs", "2"]
runpy.run_path("examples/mnist_mlp_distributed.py", run_name="__main__")
"""


def summary(rows: list[dict], devices: int) -> str:
    lines = [
        f"gpu_check on {devices} CUDA device(s)",
        f"{'step':<18} {'result':<8} {'seconds':>8}  last line",
    ]
    for row in rows:
        result = "pass" if row["code"] == 0 else f"FAIL {row['code']}"
        lines.append(f"{row['step']:<18} {result:<8} {row['seconds']:>8.0f}  {row['last'][:70]}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite-limit", type=int, default=330)
    parser.add_argument("--mixed-limit", type=int, default=60)
    parser.add_argument("--nccl-limit", type=int, default=60)
    parser.add_argument("--bench-limit", type=int, default=120)
    parser.add_argument("--out", default=os.environ.get("OUT"), help="folder for the logs")
    parser.add_argument("--skip-bench", action="store_true")
    args = parser.parse_args()
    devices, why = visible_devices()
    if devices < 1:
        print(f"gpu_check FAILED: no CUDA device is visible: {why}", file=sys.stderr)
        return NO_DEVICE
    try:
        import ml_dtypes  # noqa: F401 - without it every bfloat16 test would skip
    except ImportError:
        print("gpu_check FAILED: bfloat16 needs ml_dtypes (pip install ml_dtypes)", file=sys.stderr)
        return 1
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    rows = [
        run("suite_on_cupy", pytest_command("tests"), args.suite_limit, args.out,
            GPUKERAS_REQUIRE_GPU="1", GPUKERAS_REQUIRE_MPI="1"),
        run("mixed_precision", pytest_command("tests/test_mixed_precision.py",
            "tests/test_mixed_precision_saving.py", "tests/test_clipnorm_half_precision.py"),
            args.mixed_limit, args.out, GPUKERAS_REQUIRE_GPU="1"),
        distributed_step(devices, args.nccl_limit, args.out),
    ]  # fmt: skip
    checks_passed = all(row["code"] == 0 for row in rows)
    if not args.skip_bench:
        per_worker = str(max(30, args.bench_limit // 6))
        bench = [sys.executable, os.path.join(HERE, "bench_gpu.py"), "--repeats", "2",
                 "--batch-sizes", "128", "1024", "--timeout", per_worker]  # fmt: skip
        if args.out:
            bench += ["--json", os.path.join(args.out, "bench_gpu.json")]
        rows.append(run("benchmark", bench, args.bench_limit, args.out))
    print(summary(rows, devices))
    return 0 if checks_passed else 1


if __name__ == "__main__":
    sys.exit(main())
