"""One command for a CUDA machine: the GPU tests, then the GPU benchmark, within 8 minutes.

Needs gpukeras's test extra, CuPy and (for the comparison) PyTorch with CUDA already
installed; no network. Steps, each with its own time limit:

1. ``pytest -m gpu`` with ``GPUKERAS_BACKEND=cupy`` (every test's CuPy variant, including the
   fused Dense/softmax/optimizer kernels against their NumPy twins), at most ``--test-limit``
   seconds;
2. ``benchmarks/bench_gpu.py`` (gpukeras vs PyTorch eager, batch 128 and 1024, float32 /
   tf32 / mixed_float16), at most ``--bench-limit`` seconds.

    python benchmarks/gpu_check.py [--out results_dir]

Exit status: 0 when the tests passed (benchmark figures are informational), 1 otherwise.
With ``--out`` the pytest log and the benchmark JSON are written there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(command: list[str], limit: int, log: str | None) -> tuple[int, float]:
    started = time.perf_counter()
    env = dict(os.environ, GPUKERAS_BACKEND="cupy", PYTHONPATH=ROOT)
    print("$", " ".join(command), flush=True)
    try:
        result = subprocess.run(
            command, cwd=ROOT, env=env, timeout=limit, capture_output=True, text=True
        )
        code, output = result.returncode, result.stdout + result.stderr
    except subprocess.TimeoutExpired as exc:
        code, partial = 124, exc.stdout or ""
        output = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
        output += f"\nTIMED OUT after {limit} s\n"
    print(output[-6000:], flush=True)
    if log:
        with open(log, "w") as handle:
            handle.write(output)
    return code, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--test-limit", type=int, default=300, help="seconds (default 300)")
    parser.add_argument("--bench-limit", type=int, default=170, help="seconds (default 170)")
    parser.add_argument("--out", default=os.environ.get("OUT"), help="folder for the logs")
    parser.add_argument("--skip-bench", action="store_true")
    args = parser.parse_args()
    out = args.out
    if out:
        os.makedirs(out, exist_ok=True)
    log = os.path.join(out, "gpu_tests.log") if out else None
    tests = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "tests"]
    test_code, test_seconds = run(tests, args.test_limit, log)
    bench_code, bench_seconds = 0, 0.0
    if not args.skip_bench:
        bench = [
            sys.executable, os.path.join(HERE, "bench_gpu.py"), "--repeats", "2",
            "--timeout", str(max(30, args.bench_limit // 6)),
        ]  # fmt: skip
        if out:
            bench += ["--json", os.path.join(out, "bench_gpu.json")]
        bench_log = os.path.join(out, "bench_gpu.log") if out else None
        bench_code, bench_seconds = run(bench, args.bench_limit, bench_log)
    print(
        f"gpu tests: exit {test_code} in {test_seconds:.0f} s; "
        f"gpu benchmark: exit {bench_code} in {bench_seconds:.0f} s"
    )
    return 0 if test_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
