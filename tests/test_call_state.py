"""Per-call state: every registered layer, called twice in one step, keeps both calls'
gradients (``Layer.forward_with_pullback``), and declares the state its forward leaves."""

from __future__ import annotations

from typing import Any

import pytest

import gpukeras.layers  # noqa: F401 - registers every built-in layer
from gpukeras.layers import _call_state
from gpukeras.layers._serialization import _REGISTRY
from tests._call_state_cases import CASES, NOT_CALLABLE
from tests._call_state_helpers import (
    a_mask,
    assert_same,
    built,
    call,
    check_two_calls,
    grad_like,
    host,
    pull,
    reset,
    two_inputs,
)

CASE_IDS = [(name, i) for name in sorted(CASES) for i in range(len(CASES[name]))]


# -- the registry is covered ---------------------------------------------------------
def test_every_registered_layer_has_a_case_or_a_reason():
    registered = set(_REGISTRY)
    missing = registered - set(CASES) - set(NOT_CALLABLE)
    assert not missing, f"add a case in tests/_call_state_cases.py for {sorted(missing)}"
    assert not (set(CASES) & set(NOT_CALLABLE))
    assert set(CASES) | set(NOT_CALLABLE) <= registered
    assert all(reason.strip() for reason in NOT_CALLABLE.values())


@pytest.mark.parametrize("name", sorted(set(_REGISTRY) - set(NOT_CALLABLE)))
def test_every_registered_layer_declares_its_call_state(name):
    assert _REGISTRY[name].call_state is not None  # None keeps the whole layer per call


@pytest.mark.parametrize(("name", "index"), CASE_IDS)
def test_each_case_builds_the_class_it_is_filed_under(name, index):
    assert type(CASES[name][index].make()) is _REGISTRY[name]


# -- two calls in one step ---------------------------------------------------------------
@pytest.mark.parametrize("second_pullback_first", [False, True])
@pytest.mark.parametrize(("name", "index"), CASE_IDS)
def test_a_layer_called_twice_gives_the_gradients_of_two_single_calls(
    xp, name, index, second_pullback_first
):
    case = CASES[name][index]
    xa, xb, rng = two_inputs(case, xp)
    check_two_calls(built(case), case, xa, xb, a_mask(case, xp), rng, second_pullback_first)


@pytest.mark.parametrize(("name", "index"), CASE_IDS)
def test_a_pullback_run_after_another_forward_and_backward_gives_its_own_call_gradient(
    xp, name, index
):
    case = CASES[name][index]
    layer = built(case)
    initial = layer.get_weights()
    xa, xb, rng = two_inputs(case, xp)
    mask = a_mask(case, xp)

    reset(layer, initial)
    ya, pullback = call(layer, case, xa, mask)
    grad_a = grad_like(ya, rng)
    expected = pull(pullback, grad_a)

    reset(layer, initial)
    _, pullback = call(layer, case, xa, mask)
    # The Sequential fast path's way in between: reused output buffers, forward, backward.
    _set_scratch(layer, True)
    try:
        yb, _ = layer.forward_tracked(xb, case.training, mask)
        layer.backward(grad_like(yb, rng))
    finally:
        _set_scratch(layer, False)
    assert_same(pull(pullback, grad_a), list(expected), "pullback after another call")
    assert_same(pull(pullback, grad_a), list(expected), "the same pullback run again")


def _set_scratch(layer: Any, on: bool) -> None:
    for each in [layer, *layer.call_children()]:
        if hasattr(type(each), "scratch_outputs"):
            each.scratch_outputs = on


@pytest.mark.parametrize(("name", "index"), CASE_IDS)
def test_a_pullback_matches_forward_and_backward(xp, name, index):
    case = CASES[name][index]
    layer = built(case)
    initial = layer.get_weights()
    x, _, rng = two_inputs(case, xp)
    mask = a_mask(case, xp)

    reset(layer, initial)
    y, y_mask, pullback = layer.forward_with_pullback(x, case.training, mask)
    grad = grad_like(y, rng)
    got_x, got_weights = pull(pullback, grad)
    penalty = host(pullback.activity_penalty())

    reset(layer, initial)
    y_old, mask_old = layer.forward_tracked(x, case.training, mask)
    if layer.activity_regularizer is None:
        assert penalty is None
    else:
        assert_same(penalty, host(layer.penalties()[-1]), "activity penalty")
    for variable in layer.trainable_weights:
        variable.grad[...] = 0.0
    expected_x = host(layer.backward_with_penalties(grad))
    assert_same(host(y), host(y_old), "output")
    assert_same(host(y_mask), host(mask_old), "output mask")
    assert_same(got_x, expected_x, "input gradient")
    assert_same(got_weights, host([v.grad for v in layer.trainable_weights]), "weights")


@pytest.mark.parametrize(("name", "index"), CASE_IDS)
def test_a_pullback_writes_no_shared_gradient_and_skips_the_input_gradient_on_request(
    xp, name, index
):
    case = CASES[name][index]
    layer = built(case)
    x, _, rng = two_inputs(case, xp)
    for variable in layer.weights:
        if variable.grad is not None:
            variable.grad[...] = 5.0
    y, _, pullback = layer.forward_with_pullback(x, case.training, a_mask(case, xp))
    grad_x, weight_grads = pullback(grad_like(y, rng), need_input_grad=False)
    assert grad_x is None
    assert all(v.grad is None or float(v.grad.min()) == 5.0 for v in layer.weights)
    held = {id(v.grad) for v in layer.weights}
    assert all(id(g) not in held for g in weight_grads)
    assert layer.needs_input_grad is True


# -- the declaration is complete ---------------------------------------------------------
class _Recorder:
    """Records every attribute assignment on a layer and its children (by swapping in a
    subclass whose ``__setattr__`` notes the name), then puts the classes back."""

    def __init__(self, layer: Any) -> None:
        self.assigned: set[tuple[str, str]] = set()
        self.swapped: list[tuple[Any, type]] = []
        self._watch(layer, "")

    def _watch(self, layer: Any, path: str) -> None:
        where = path + layer.name
        assigned = self.assigned

        def __setattr__(self: Any, name: str, value: Any) -> None:  # noqa: N807
            if name != "__class__":  # the recorder's own swap back
                assigned.add((where, name))
            object.__setattr__(self, name, value)

        cls = type(layer)
        self.swapped.append((layer, cls))
        layer.__class__ = type(cls.__name__, (cls,), {"__setattr__": __setattr__})
        for child in layer.call_children():
            self._watch(child, where + "/")

    def restore(self) -> None:
        for layer, cls in self.swapped:
            layer.__class__ = cls


def _declared(layer: Any, path: str = "") -> set[tuple[str, str]]:
    names = {
        *_call_state.BASE_CALL_STATE,
        *layer.call_state,
        *layer.call_workspace,
        *layer.call_caches,
    }
    found = {(path + layer.name, n) for n in names}
    for child in layer.call_children():
        found |= _declared(child, path + layer.name + "/")
    return found


@pytest.mark.parametrize(("name", "index"), CASE_IDS)
def test_forward_sets_only_the_state_its_layer_declares(xp, name, index):
    case = CASES[name][index]
    layer = built(case)
    x, _, _ = two_inputs(case, xp)
    recorder = _Recorder(layer)
    try:
        layer.forward_tracked(x, case.training, a_mask(case, xp))
    finally:
        recorder.restore()
    assert type(layer) is _REGISTRY[name]
    undeclared = recorder.assigned - _declared(layer)
    assert not undeclared, f"declare in call_state (or call_caches): {sorted(undeclared)}"
