"""All CPU benchmarks in one go, then one combined table (what ``nox -s bench`` runs).

Runs benchmarks/bench_mlp.py (MLP at batch 128 and 1024), bench_cnn.py (Keras MNIST
convnet), bench_lstm.py, bench_custom.py (subclassed-Model and custom-loss MLPs against the
Sequential one), bench_metrics.py (stateful metrics' cost in fit) and, when present,
bench_allreduce.py, each as its own process pinned to ``--core`` (allreduce places its own
ranks). Their full reports are printed as they finish; the combined table at the end lists
every ``framework  seconds`` row each one printed (rows it cannot recognise stay in the full
report). A benchmark that fails is reported and the others still run.

    python benchmarks/run.py [--core 0] [--only mlp cnn] [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# script, and whether it takes --core (allreduce runs several ranks and places them itself)
BENCHMARKS = {
    "mlp": ("bench_mlp.py", True),
    "cnn": ("bench_cnn.py", True),
    "lstm": ("bench_lstm.py", True),
    "custom": ("bench_custom.py", True),
    "metrics": ("bench_metrics.py", True),
    "allreduce": ("bench_allreduce.py", False),
}
QUICK = {
    "mlp": ["--samples", "12800", "--repeats", "2", "--rounds", "1"],
    "cnn": ["--steps", "8", "--repeats", "2"],
    "lstm": ["--steps", "10"],
    "custom": ["--samples", "12800", "--repeats", "2", "--rounds", "1"],
    "metrics": ["--samples", "12800", "--repeats", "2", "--rounds", "1"],
    "allreduce": ["--steps", "10"],
}
# A result row: a name, then a number of seconds (bench_mlp and print_ratios style), or the
# lstm table's "name  ms/step  s/epoch  ratio".
_ROW = re.compile(r"^\s{0,2}(?P<name>[A-Za-z][\w ./(),+-]*?)\s{2,}(?P<values>[\d.]+(?:\s.*)?)$")


def run_one(name: str, script: str, extra: list[str]) -> tuple[str, float]:
    command = [sys.executable, os.path.join(HERE, script), *extra]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    output = result.stdout
    if result.returncode != 0:
        error = (result.stderr.strip().splitlines() or ["no output"])[-1]
        output += f"FAILED (exit {result.returncode}): {error}\n"
    return output, time.perf_counter() - started


def table_rows(output: str) -> list[str]:
    rows, section = [], ""
    for line in output.splitlines():
        if line.startswith("batch "):
            section = line.rstrip(":") + ": "
        match = _ROW.match(line)
        if match and not line.lstrip().startswith(("framework", "(")):
            rows.append(f"{section}{match['name'].strip():<24} {match['values'].strip()}")
        elif "skipped" in line:
            rows.append(f"{section}{line.strip()}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--core", type=int, default=0, help="CPU core to pin to (default 0)")
    parser.add_argument("--only", nargs="*", default=list(BENCHMARKS), choices=list(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    args = parser.parse_args()
    combined: dict[str, list[str]] = {}
    for name in args.only:
        script, pins = BENCHMARKS[name]
        if not os.path.exists(os.path.join(HERE, script)):
            print(f"== {name}: {script} does not exist, skipped\n")
            continue
        extra = ["--core", str(args.core)] if pins else []
        extra += QUICK.get(name, []) if args.quick else []
        print(f"== {name}: {script} {' '.join(extra)}", flush=True)
        output, seconds = run_one(name, script, extra)
        print(output + f"(took {seconds:.0f} s)\n", flush=True)
        combined[name] = table_rows(output) or ["no result rows (see the report above)"]
    print("== combined (each benchmark's own units and ratios; see the reports above)")
    for name, rows in combined.items():
        print(f"{name}:")
        for row in rows:
            print(f"  {row}")


if __name__ == "__main__":
    main()
