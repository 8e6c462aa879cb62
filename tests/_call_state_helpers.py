"""Shared steps of the per-call state tests (tests/test_call_state*.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gpukeras import backend as K
from tests._call_state_cases import Case

TIGHT = {"rtol": 1e-12, "atol": 1e-12}


def built(case: Case) -> Any:
    layer = case.make()
    layer.ensure_built(case.shape)
    return layer


def an_input(case: Case, xp: Any, rng: np.random.Generator) -> Any:
    if isinstance(case.shape, list):  # a merge layer's list of inputs
        return [xp.asarray(rng.normal(size=shape)) for shape in case.shape]
    if case.int_input is not None:
        return xp.asarray(rng.integers(0, case.int_input, case.shape))
    return xp.asarray(rng.normal(size=case.shape))


def a_mask(case: Case, xp: Any) -> Any:
    if not case.mask:
        return None
    if isinstance(case.shape, list):  # a merge layer: one mask per input
        masks = []
        for i, shape in enumerate(case.shape):
            mask = np.ones(shape[:2], dtype=bool)
            mask[0, i % shape[1]] = False
            mask[1, -1] = False  # every input masks this step: the output mask's zeros
            masks.append(xp.asarray(mask))
        return masks
    mask = np.ones(case.shape[:2], dtype=bool)
    mask[0, -2:] = False  # the first sequence is two steps shorter
    return xp.asarray(mask)


def grad_like(y: Any, rng: np.random.Generator) -> Any:
    """A random output gradient shaped like ``y`` (a list for several outputs)."""
    if isinstance(y, (list, tuple)):
        return [grad_like(part, rng) for part in y]
    return K.to_device(rng.normal(size=tuple(y.shape)))  # on the backend under test


def reset(layer: Any, weights: list[Any]) -> None:
    """Same weights (moving statistics included) and the same random stream."""
    layer.set_weights(weights)
    K.random.seed(99)


def host(values: Any) -> Any:
    if values is None:
        return None
    if isinstance(values, (list, tuple)):
        return [host(v) for v in values]
    return K.to_host(values).copy()


def assert_same(got: Any, expected: Any, what: str) -> None:
    if expected is None:
        assert got is None, what
        return
    if isinstance(expected, list):
        assert len(got) == len(expected), what
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_same(g, e, f"{what}[{i}]")
        return
    np.testing.assert_allclose(got, expected, err_msg=what, **TIGHT)


def call(layer: Any, case: Case, x: Any, mask: Any) -> tuple[Any, Any]:
    y, _, pullback = layer.forward_with_pullback(x, case.training, mask)
    return host(y), pullback


def pull(pullback: Any, grad: Any) -> tuple[Any, Any]:
    grad_x, weight_grads = pullback(grad)
    return host(grad_x), host(weight_grads)


def two_inputs(case: Case, xp: Any) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(7)
    return an_input(case, xp, rng), an_input(case, xp, rng), rng


def check_two_calls(
    layer: Any, case: Case, xa: Any, xb: Any, mask: Any, rng: Any, second_pullback_first: bool
) -> None:
    initial = layer.get_weights()
    reset(layer, initial)  # two separate calls: each backward before the next call
    ya, pullback_a = call(layer, case, xa, mask)
    grad_a = grad_like(ya, rng)
    single_a = pull(pullback_a, grad_a)
    yb, pullback_b = call(layer, case, xb, mask)
    grad_b = grad_like(yb, rng)
    single_b = pull(pullback_b, grad_b)
    weights_after = layer.get_weights()

    reset(layer, initial)  # the shared layer: both calls, then both pullbacks
    shared_ya, pullback_a = call(layer, case, xa, mask)
    shared_yb, pullback_b = call(layer, case, xb, mask)
    if second_pullback_first:
        shared_b = pull(pullback_b, grad_b)
        shared_a = pull(pullback_a, grad_a)
    else:
        shared_a = pull(pullback_a, grad_a)
        shared_b = pull(pullback_b, grad_b)

    assert_same(shared_ya, ya, "first output")
    assert_same(shared_yb, yb, "second output")
    assert_same(shared_a[0], single_a[0], "first input gradient")
    assert_same(shared_b[0], single_b[0], "second input gradient")
    summed = [a + b for a, b in zip(shared_a[1], shared_b[1])]
    assert_same(summed, [a + b for a, b in zip(single_a[1], single_b[1])], "weight gradients")
    assert_same(shared_a[1], single_a[1], "first call's weight gradients")
    assert_same(layer.get_weights(), weights_after, "weights and moving statistics")
    assert len(shared_a[1]) == len(layer.trainable_weights)
