"""One optimizer step on the MLP 784-512-512-10's weights (669,706 parameters), per optimizer.

For each optimizer: ``ms/step`` is the best of ``--repeats`` timings of ``--steps`` calls of
``optimizer.apply(variables)`` (gradients already in ``.grad``, as in training), after a
warm-up step that builds the slots; ``fused`` is how many fused kernel calls one step makes
(1 for the elementwise optimizers, whose step runs over the flat buffers; Lamb, Adafactor and
Muon also run per-matrix ``xp`` reductions and products, not counted there); ``syncs`` is
host reads per step (must be 0). The ratio compares each step with plain SGD's, the
memory-bound floor (read weights and gradients, write weights).

Run (not a test; numbers are noisy when other processes share the core):
    python benchmarks/bench_optimizers.py [--core 0] [--steps 20] [--only adam muon]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

SHAPES = [(784, 512), (512,), (512, 512), (512,), (512, 10), (10,)]
OPTIMIZERS = [
    "sgd", "rmsprop", "adam", "adamw", "nadam", "adagrad", "ftrl", "lion",
    "schedulefreeadamw", "lamb", "adafactor", "muon",
]  # fmt: skip


def measure(identifier: str, steps: int, repeats: int) -> dict[str, float]:
    import numpy as np

    from gpukeras import backend as K
    from gpukeras import optimizers
    from gpukeras.backend.kernels import _op
    from gpukeras.variables import Variable

    rng = np.random.default_rng(0)
    variables = []
    for i, shape in enumerate(SHAPES):
        variable = Variable(rng.normal(size=shape).astype("float32") * 0.05, f"w{i}", f"l{i}/w")
        variable.grad = K.to_device(rng.normal(size=shape).astype("float32") * 0.01)
        variables.append(variable)
    optimizer = optimizers.get(identifier)
    optimizer.apply(variables)  # builds the slots and packs the flat buffers
    calls = []
    original = _op.ElementwiseOp.__call__
    _op.ElementwiseOp.__call__ = lambda op, *args: (calls.append(op.name), original(op, *args))
    try:
        optimizer.apply(variables)
    finally:
        _op.ElementwiseOp.__call__ = original
    syncs = K.host_syncs()

    def run() -> None:
        for _ in range(steps):
            optimizer.apply(variables)
        xp = K.array_module()
        if xp.__name__ == "cupy":  # time the work, not its queueing
            xp.cuda.Device().synchronize()

    seconds = _harness.best_of(run, repeats)
    return {
        "ms": 1000 * seconds / steps,
        "kernels": len(calls),
        "syncs": (K.host_syncs() - syncs) / (steps * repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--core", type=int, default=0, help="CPU core to pin to (default 0)")
    parser.add_argument("--steps", type=int, default=20, help="steps per timing (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="timings, best kept (default 3)")
    parser.add_argument("--only", nargs="*", default=None, help="optimizer ids to run")
    parser.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    args = parser.parse_args()
    _harness.pin(args.core)
    os.environ["GPUKERAS_BACKEND"] = args.backend
    chosen = args.only or OPTIMIZERS
    results = {identifier: measure(identifier, args.steps, args.repeats) for identifier in chosen}
    print(f"One step on 669,706 float32 parameters, {args.backend}, core {args.core}, 1 thread")
    print(f"  {'optimizer':<20} {'ms/step':>8} {'fused':>8} {'syncs':>6}")
    floor = results.get("sgd", {}).get("ms")
    for identifier, row in results.items():
        ratio = f"  ({row['ms'] / floor:.1f}x SGD)" if floor and identifier != "sgd" else ""
        print(f"  {identifier:<20} {row['ms']:8.2f} {row['kernels']:8d} {row['syncs']:6.0f}{ratio}")


if __name__ == "__main__":
    main()
