"""Write tests/fixtures/ops_jax.npz: every case of tests/ops_cases.py run by real Keras on JAX.

For each case it stores the float32 inputs, the value of ``keras.ops.<name>`` and, where
the output is floating, the VJP (``jax.vjp``) for a fixed random cotangent, with respect
to every float input. Run offline, from the repository root:

    KERAS_BACKEND=jax /work/kerasref/bin/python tests/make_ops_fixtures.py
"""

from __future__ import annotations

import os
import sys

import jax
import numpy as np
from keras import ops

sys.path.insert(0, os.path.dirname(__file__))
import ops_cases  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "fixtures", "ops_jax.npz")
# Keras has no function of these names: call what the gpukeras op means.
OVERRIDES = {"getitem": lambda x, key: x[key]}


def _f32(a):
    return a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


def _cast_args(args):
    return [[_f32(a) for a in arg] if isinstance(arg, list) else _f32(arg) for arg in args]


def _with_floats(args, places, floats):
    out = [list(a) if isinstance(a, list) else a for a in args]
    for (i, j), value in zip(places, floats):
        if j is None:
            out[i] = value
        else:
            out[i][j] = value
    return out


def _leaves(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def main() -> None:
    store: dict[str, np.ndarray] = {}
    missing = []
    for index, case in enumerate(ops_cases.CASES):
        name, _, kwargs = case
        fn = OVERRIDES.get(name) or getattr(ops, name, None)
        if fn is None:
            missing.append(name)
            continue
        key = ops_cases.case_id(index, case)
        args = _cast_args(ops_cases.draw_inputs(index))
        places = ops_cases.float_positions(args)
        for n, (i, j) in enumerate(places):
            store[f"{key}/in{n}"] = args[i] if j is None else args[i][j]
        value = fn(*args, **kwargs)
        outs = [np.asarray(v) for v in _leaves(value)]
        for n, v in enumerate(outs):
            store[f"{key}/out{n}"] = v
        if not places or any(v.dtype.kind != "f" for v in outs):
            continue
        rng = np.random.default_rng(5000 + index)
        cotangents = [rng.standard_normal(v.shape).astype(v.dtype) for v in outs]
        floats = [args[i] if j is None else args[i][j] for i, j in places]

        def f(*fl, fn=fn, args=args, places=places, kwargs=kwargs):
            return fn(*_with_floats(args, places, fl), **kwargs)

        _, pullback = jax.vjp(f, *floats)
        cot = cotangents if isinstance(value, (list, tuple)) else cotangents[0]
        if isinstance(value, tuple):
            cot = tuple(cot)
        grads = pullback(cot)
        for n, c in enumerate(cotangents):
            store[f"{key}/cot{n}"] = c
        for n, g in enumerate(grads):
            store[f"{key}/grad{n}"] = np.asarray(g)
    np.savez_compressed(OUT, **store)
    print(f"wrote {OUT}: {len(store)} arrays; no Keras op for: {sorted(set(missing))}")


if __name__ == "__main__":
    main()
