"""gpukeras.ops: the registry is complete, shape rules hold, gradients match finite
differences (float64) and values and VJPs match real Keras on JAX (float32 fixtures)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from gpukeras import ops
from gpukeras.autodiff import GradientTape
from gpukeras.ops._registry import COMPOSITES, KINDS, REGISTRY
from tests import ops_cases

# Exported names that are another op under a Keras alias, or that run through one.
ALIASES = {
    "abs": "absolute",
    "true_divide": "divide",
    "swish": "silu",
    "hard_swish": "hard_silu",
    "convert_to_tensor": "identity",
}
# Exported names that answer a question about an array rather than compute one.
QUERIES = {"shape", "ndim", "size", "dtype", "convert_to_numpy"}
# Exported higher-order helpers (tested in tests/test_autodiff.py).
HELPERS = {"custom_gradient"}
FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "ops_jax.npz"))
CASE_IDS = [ops_cases.case_id(i, c) for i, c in enumerate(ops_cases.CASES)]


def _op_name(public: str) -> str:
    return ALIASES.get(public, public)


def test_every_exported_op_is_registered_or_declared():
    exported = [name for name in ops.__all__ if name != "nn"]
    unknown = [
        n
        for n in exported
        if _op_name(n) not in REGISTRY and n not in COMPOSITES and n not in QUERIES | HELPERS
    ]
    assert unknown == []


def test_every_registered_op_declares_its_gradient_and_shape_rule():
    for name, op in REGISTRY.items():
        assert op.kind in KINDS, name
        assert (op.vjp is not None) == (op.kind == "differentiable"), name
        assert callable(op.shape), name
    assert all(callable(rule) for rule in COMPOSITES.values())


def test_every_op_and_export_has_a_case():
    tested = {c[0] for c in ops_cases.CASES}
    covered = {_op_name(n) for n in tested} | tested
    internal = {"identity"} - covered  # reached through convert_to_tensor
    missing = (set(REGISTRY) | set(COMPOSITES)) - covered - internal
    exported = {n for n in ops.__all__ if n not in QUERIES | HELPERS and n != "nn"}
    assert missing == set() and exported - tested == set()


def test_nn_ops_are_also_exported_at_ops():
    for name in ops.nn.__all__:
        assert getattr(ops, name) is getattr(ops.nn, name)


def _device(args, xp, dtype):
    def conv(a):
        if isinstance(a, np.ndarray):
            return xp.asarray(a.astype(dtype) if a.dtype.kind == "f" else a)
        return a

    return [[conv(a) for a in arg] if isinstance(arg, list) else conv(arg) for arg in args]


def _floats(args, places):
    return [args[i] if j is None else args[i][j] for i, j in places]


def _outputs(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _host(x):
    return np.asarray(x.get() if hasattr(x, "get") else x)


@pytest.fixture
def shape_checked(monkeypatch):
    """Every registered op checks its shape rule against what its forward returned."""
    seen = set()
    for name, op in list(REGISTRY.items()):

        def forward(xp, *arrays, _op=op, **params):
            out = _op.forward(xp, *arrays, **params)
            shapes = [tuple(np.shape(a)) for a in arrays]
            assert tuple(_op.shape(*shapes, **params)) == tuple(out.shape), _op.name
            seen.add(_op.name)
            return out

        monkeypatch.setitem(REGISTRY, name, dataclasses.replace(op, forward=forward))
    return seen


@pytest.mark.parametrize("index", range(len(ops_cases.CASES)), ids=CASE_IDS)
def test_shape_rule_matches_the_computed_shape(index, shape_checked):
    name, _, kwargs = ops_cases.CASES[index]
    args = ops_cases.draw_inputs(index)
    value = getattr(ops, name)(*args, **kwargs)
    if name in COMPOSITES:
        flat = [b for a in args for b in (a if isinstance(a, list) else [a])]
        shapes = [np.shape(a) for a in flat if isinstance(a, (np.ndarray, float, int))]
        rule = COMPOSITES[name](*shapes, **kwargs)
        got = [tuple(v.shape) for v in _outputs(value)]
        assert (list(rule) if isinstance(value, (list, tuple)) else [tuple(rule)]) == got
    # The registered ops it ran checked their rules (convert_to_tensor runs none outside a tape).
    assert shape_checked or name in COMPOSITES or name == "convert_to_tensor"


def _objective_weights(outputs, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.shape(o)) for o in outputs]


def _weighted_sum(outputs, weights, xp):
    total = 0.0
    for o, w in zip(outputs, weights):
        total = ops.add(total, ops.sum(ops.multiply(o, xp.asarray(w, dtype=o.dtype))))
    return total


def _differentiable_cases():
    picked = []
    for index, (name, _, kwargs) in enumerate(ops_cases.CASES):
        args = ops_cases.draw_inputs(index)
        # stop_gradient is the identity numerically: finite differences cannot see it.
        if not ops_cases.float_positions(args) or name in ("argmax", "argmin", "stop_gradient"):
            continue
        outs = _outputs(getattr(ops, name)(*args, **kwargs))
        if all(o.dtype == np.float64 for o in outs):  # float64 all through
            picked.append(index)
    return picked


DIFFERENTIABLE = _differentiable_cases()


@pytest.mark.parametrize("index", DIFFERENTIABLE, ids=[CASE_IDS[i] for i in DIFFERENTIABLE])
def test_gradient_matches_finite_differences(index, xp):
    name, _, kwargs = ops_cases.CASES[index]
    fn = getattr(ops, name)
    args = _device(ops_cases.draw_inputs(index), xp, np.float64)
    places = ops_cases.float_positions(args)
    floats = _floats(args, places)
    weights = _objective_weights(_outputs(fn(*args, **kwargs)), index)
    with GradientTape() as tape:
        tape.watch(floats)
        loss = _weighted_sum(_outputs(fn(*args, **kwargs)), weights, xp)
    grads = tape.gradient(loss, floats)
    for x, grad in zip(floats, grads):
        numeric = _numeric_gradient(
            lambda: _weighted_sum(_outputs(fn(*args, **kwargs)), weights, xp), x, xp
        )
        got = np.zeros_like(numeric) if grad is None else _host(grad)
        assert got.shape == numeric.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7, err_msg=name)


def _numeric_gradient(objective, x, xp, h=1e-6):
    flat = x.reshape(-1)  # a view: perturbing it perturbs the input in place
    out = np.zeros(flat.shape)
    for k in range(flat.size):
        keep = flat[k].copy()
        flat[k] = keep + h
        up = float(_host(objective()))
        flat[k] = keep - h
        down = float(_host(objective()))
        flat[k] = keep
        out[k] = (up - down) / (2 * h)
    return out.reshape(x.shape)


def _with_fixture_floats(args, places, key):
    out = [list(a) if isinstance(a, list) else a for a in args]
    for n, (i, j) in enumerate(places):
        value = FIXTURES[f"{key}/in{n}"]
        if j is None:
            out[i] = value
        else:
            out[i][j] = value
    return out


JAX_CASES = [i for i, c in enumerate(ops_cases.CASES) if f"{CASE_IDS[i]}/out0" in FIXTURES.files]


@pytest.mark.parametrize("index", JAX_CASES, ids=[CASE_IDS[i] for i in JAX_CASES])
def test_value_and_vjp_match_keras_on_jax(index, xp):
    name, _, kwargs = ops_cases.CASES[index]
    key = CASE_IDS[index]
    fn = getattr(ops, name)
    host_args = ops_cases.draw_inputs(index)
    places = ops_cases.float_positions(host_args)
    args = _device(_with_fixture_floats(host_args, places, key), xp, np.float32)
    floats = _floats(args, places)
    with GradientTape() as tape:
        tape.watch(floats)
        outs = _outputs(fn(*args, **kwargs))
        cots = [
            FIXTURES[f"{key}/cot{n}"] for n in range(len(outs)) if f"{key}/cot{n}" in FIXTURES.files
        ]
        loss = _weighted_sum(outs, cots, xp) if cots else None
    for n, out in enumerate(outs):
        want = FIXTURES[f"{key}/out{n}"]
        got = _host(out)
        assert got.shape == want.shape, name
        assert (
            got.dtype == want.dtype
            or name in ("arange", "eye")
            and want.dtype.kind == got.dtype.kind
        ), (name, got.dtype, want.dtype)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=name)
    if loss is None:
        return
    grads = tape.gradient(loss, floats)
    for n, grad in enumerate(grads):
        want = FIXTURES[f"{key}/grad{n}"]
        got = np.zeros_like(want) if grad is None else _host(grad)
        assert got.dtype == want.dtype, name
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=name)
