"""Per-call state: every registered layer, called twice in one step, keeps both calls'
gradients (``Layer.forward_with_pullback``), and declares the state its forward leaves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gpukeras.layers  # noqa: F401 - registers every built-in layer
from gpukeras import backend as K
from gpukeras.layers import Layer, _call_state
from gpukeras.layers._serialization import _REGISTRY
from tests._call_state_cases import CASES, NOT_CALLABLE, Case

CASE_IDS = [(name, i) for name in sorted(CASES) for i in range(len(CASES[name]))]
TIGHT = {"rtol": 1e-12, "atol": 1e-12}


# -- helpers --------------------------------------------------------------------------
def _layer(case: Case) -> Any:
    layer = case.make()
    layer.ensure_built(case.shape)
    return layer


def _input(case: Case, xp: Any, rng: np.random.Generator) -> Any:
    if case.int_input is not None:
        return xp.asarray(rng.integers(0, case.int_input, case.shape))
    return xp.asarray(rng.normal(size=case.shape))


def _mask(case: Case, xp: Any) -> Any:
    if not case.mask:
        return None
    mask = np.ones(case.shape[:2], dtype=bool)
    mask[0, -2:] = False  # the first sequence is two steps shorter
    return xp.asarray(mask)


def _like(y: Any, rng: np.random.Generator) -> Any:
    """A random output gradient shaped like ``y`` (a list for several outputs)."""
    if isinstance(y, (list, tuple)):
        return [_like(part, rng) for part in y]
    return K.get_array_module(y).asarray(rng.normal(size=tuple(y.shape)))


def _reset(layer: Any, weights: list[Any]) -> None:
    """Same weights (moving statistics included) and the same random stream."""
    layer.set_weights(weights)
    K.random.seed(99)


def _host(values: Any) -> Any:
    if values is None:
        return None
    if isinstance(values, (list, tuple)):
        return [_host(v) for v in values]
    return K.to_host(values).copy()


def _assert_same(got: Any, expected: Any, what: str) -> None:
    if expected is None:
        assert got is None, what
        return
    if isinstance(expected, list):
        assert len(got) == len(expected), what
        for i, (g, e) in enumerate(zip(got, expected)):
            _assert_same(g, e, f"{what}[{i}]")
        return
    np.testing.assert_allclose(got, expected, err_msg=what, **TIGHT)


def _call(layer: Any, case: Case, x: Any, mask: Any) -> tuple[Any, Any]:
    y, _, pullback = layer.forward_with_pullback(x, case.training, mask)
    return _host(y), pullback


def _pull(pullback: Any, grad: Any) -> tuple[Any, Any]:
    grad_x, weight_grads = pullback(grad)
    return _host(grad_x), _host(weight_grads)


def _data(case: Case, xp: Any) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(7)
    return _input(case, xp, rng), _input(case, xp, rng), rng


# -- the registry is covered ---------------------------------------------------------
def test_every_registered_layer_has_a_case_or_a_reason():
    registered = set(_REGISTRY)
    missing = registered - set(CASES) - set(NOT_CALLABLE)
    assert not missing, f"add a case in tests/_call_state_cases.py for {sorted(missing)}"
    assert not (set(CASES) & set(NOT_CALLABLE))
    assert set(CASES) | set(NOT_CALLABLE) <= registered
    assert all(reason.strip() for reason in NOT_CALLABLE.values())


@pytest.mark.parametrize("name", sorted(_REGISTRY))
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
    xa, xb, rng = _data(case, xp)
    _check_two_calls(_layer(case), case, xa, xb, _mask(case, xp), rng, second_pullback_first)


def _check_two_calls(
    layer: Any, case: Case, xa: Any, xb: Any, mask: Any, rng: Any, second_pullback_first: bool
) -> None:
    initial = layer.get_weights()
    _reset(layer, initial)  # two separate calls: each backward before the next call
    ya, pullback_a = _call(layer, case, xa, mask)
    grad_a = _like(ya, rng)
    single_a = _pull(pullback_a, grad_a)
    yb, pullback_b = _call(layer, case, xb, mask)
    grad_b = _like(yb, rng)
    single_b = _pull(pullback_b, grad_b)
    weights_after = layer.get_weights()

    _reset(layer, initial)  # the shared layer: both calls, then both pullbacks
    shared_ya, pullback_a = _call(layer, case, xa, mask)
    shared_yb, pullback_b = _call(layer, case, xb, mask)
    if second_pullback_first:
        shared_b = _pull(pullback_b, grad_b)
        shared_a = _pull(pullback_a, grad_a)
    else:
        shared_a = _pull(pullback_a, grad_a)
        shared_b = _pull(pullback_b, grad_b)

    _assert_same(shared_ya, ya, "first output")
    _assert_same(shared_yb, yb, "second output")
    _assert_same(shared_a[0], single_a[0], "first input gradient")
    _assert_same(shared_b[0], single_b[0], "second input gradient")
    summed = [a + b for a, b in zip(shared_a[1], shared_b[1])]
    _assert_same(summed, [a + b for a, b in zip(single_a[1], single_b[1])], "weight gradients")
    _assert_same(shared_a[1], single_a[1], "first call's weight gradients")
    _assert_same(layer.get_weights(), weights_after, "weights and moving statistics")
    assert len(shared_a[1]) == len(layer.trainable_weights)


_FLAGS_SEEN: list[bool] = []


class _Scale(Layer):
    """A hand-written layer that declares nothing: ``x * w``, keeping ``x`` on self."""

    def build(self, input_shape: Any) -> None:
        self.w = self.add_weight("w", (input_shape[-1],), "random_normal")

    def forward(self, x: Any, training: bool = False) -> Any:
        self._x = x
        return x * self.w.value

    def backward(self, grad: Any) -> Any:
        self.w.grad[...] = (grad * self._x).sum(axis=0)
        self.backward_saw_needs_input_grad = self.needs_input_grad
        _FLAGS_SEEN.append(self.needs_input_grad)
        return grad * self.w.value if self.needs_input_grad else None


class _Doubled(Layer):
    """A hand-written wrapper that declares nothing: ``2 * tanh(inner(x))``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inner = gpukeras.layers.Dense(3, activation="tanh", dtype="float64")

    def build(self, input_shape: Any) -> None:
        self.inner.ensure_built(input_shape)

    @property
    def trainable_weights(self) -> list[Any]:
        return self.inner.trainable_weights

    @property
    def weights(self) -> list[Any]:
        return self.inner.weights

    def forward(self, x: Any, training: bool = False) -> Any:
        return self.inner.forward(x, training) * 2.0

    def backward(self, grad: Any) -> Any:
        return self.inner.backward(grad * 2.0)


@pytest.mark.parametrize("make", [_Scale, _Doubled])
def test_a_hand_written_layer_that_declares_nothing_is_kept_whole_per_call(xp, make):
    case = Case(lambda: make(dtype="float64"), (3, 4))
    xa, xb, rng = _data(case, xp)
    _check_two_calls(_layer(case), case, xa, xb, None, rng, second_pullback_first=False)


@pytest.mark.parametrize(("name", "index"), CASE_IDS)
def test_a_pullback_run_after_another_forward_and_backward_gives_its_own_call_gradient(
    xp, name, index
):
    case = CASES[name][index]
    layer = _layer(case)
    initial = layer.get_weights()
    xa, xb, rng = _data(case, xp)
    mask = _mask(case, xp)

    _reset(layer, initial)
    ya, pullback = _call(layer, case, xa, mask)
    grad_a = _like(ya, rng)
    expected = _pull(pullback, grad_a)

    _reset(layer, initial)
    _, pullback = _call(layer, case, xa, mask)
    # The Sequential fast path's way in between: reused output buffers, forward, backward.
    _set_scratch(layer, True)
    try:
        yb, _ = layer.forward_tracked(xb, case.training, mask)
        layer.backward(_like(yb, rng))
    finally:
        _set_scratch(layer, False)
    _assert_same(_pull(pullback, grad_a), list(expected), "pullback after another call")
    _assert_same(_pull(pullback, grad_a), list(expected), "the same pullback run again")


def _set_scratch(layer: Any, on: bool) -> None:
    for each in [layer, *layer.call_children()]:
        if hasattr(type(each), "scratch_outputs"):
            each.scratch_outputs = on


@pytest.mark.parametrize(("name", "index"), CASE_IDS)
def test_a_pullback_matches_forward_and_backward(xp, name, index):
    case = CASES[name][index]
    layer = _layer(case)
    initial = layer.get_weights()
    x, _, rng = _data(case, xp)
    mask = _mask(case, xp)

    _reset(layer, initial)
    y, y_mask, pullback = layer.forward_with_pullback(x, case.training, mask)
    grad = _like(y, rng)
    got_x, got_weights = _pull(pullback, grad)
    penalty = _host(pullback.activity_penalty())

    _reset(layer, initial)
    y_old, mask_old = layer.forward_tracked(x, case.training, mask)
    if layer.activity_regularizer is None:
        assert penalty is None
    else:
        _assert_same(penalty, _host(layer.penalties()[-1]), "activity penalty")
    for variable in layer.trainable_weights:
        variable.grad[...] = 0.0
    expected_x = _host(layer.backward_with_penalties(grad))
    _assert_same(_host(y), _host(y_old), "output")
    _assert_same(_host(y_mask), _host(mask_old), "output mask")
    _assert_same(got_x, expected_x, "input gradient")
    _assert_same(got_weights, _host([v.grad for v in layer.trainable_weights]), "weights")


@pytest.mark.parametrize(("name", "index"), CASE_IDS)
def test_a_pullback_writes_no_shared_gradient_and_skips_the_input_gradient_on_request(
    xp, name, index
):
    case = CASES[name][index]
    layer = _layer(case)
    x, _, rng = _data(case, xp)
    for variable in layer.weights:
        if variable.grad is not None:
            variable.grad[...] = 5.0
    y, _, pullback = layer.forward_with_pullback(x, case.training, _mask(case, xp))
    grad_x, weight_grads = pullback(_like(y, rng), need_input_grad=False)
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
    layer = _layer(case)
    x, _, _ = _data(case, xp)
    recorder = _Recorder(layer)
    try:
        layer.forward_tracked(x, case.training, _mask(case, xp))
    finally:
        recorder.restore()
    assert type(layer) is _REGISTRY[name]
    undeclared = recorder.assigned - _declared(layer)
    assert not undeclared, f"declare in call_state (or call_caches): {sorted(undeclared)}"


# -- float32 fast kernels that keep state in reused buffers -------------------------
def test_a_winograd_convolution_called_twice_keeps_the_first_calls_gradient():
    if K.backend() != "numpy":
        pytest.skip("Winograd F(4x4, 3x3) runs on the NumPy backend only")
    layer = gpukeras.layers.Conv2D(8, 3, padding="same")
    layer.ensure_built((2, 8, 8, 8))
    rng = np.random.default_rng(3)
    xa, xb = (rng.normal(size=(2, 8, 8, 8)).astype(np.float32) for _ in range(2))
    grad = rng.normal(size=(2, 8, 8, 8)).astype(np.float32)
    _, _, pullback = layer.forward_with_pullback(xa, True)
    expected = pullback(grad)
    assert layer._winograd is not None  # the Winograd plan ran
    _, _, pullback = layer.forward_with_pullback(xa, True)
    layer.forward_with_pullback(xb, True)
    got = pullback(grad)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-6)
    for g, e in zip(got[1], expected[1]):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-5)


def test_batch_normalization_called_twice_updates_its_moving_mean_twice_in_order(xp):
    # Keras 3 (checked on the JAX backend) applies a shared layer's two updates in turn.
    layer = gpukeras.layers.BatchNormalization(momentum=0.9, dtype="float64")
    layer.ensure_built((4, 3))
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) + 2.0
    for x in (xa, xb):
        layer.forward_with_pullback(xp.asarray(x), True)
    expected = 0.9 * (0.1 * xa.mean(axis=0)) + 0.1 * xb.mean(axis=0)
    np.testing.assert_allclose(K.to_host(layer.moving_mean.value), expected, rtol=1e-12)


def test_dropout_called_twice_draws_a_new_mask_for_each_call_and_keeps_each(xp):
    # Keras 3 draws each call's mask from the layer's advancing seed stream.
    layer = gpukeras.layers.Dropout(0.5, dtype="float64")
    x = xp.ones((8, 16))
    ya, _, pullback_a = layer.forward_with_pullback(x, True)
    yb, _, pullback_b = layer.forward_with_pullback(x, True)
    assert not np.array_equal(K.to_host(ya), K.to_host(yb))
    np.testing.assert_array_equal(K.to_host(pullback_a(x)[0]), K.to_host(ya))
    np.testing.assert_array_equal(K.to_host(pullback_b(x)[0]), K.to_host(yb))


@pytest.mark.parametrize("wanted", [True, False])
def test_a_hand_written_layer_sees_need_input_grad_in_its_backward(wanted):
    layer = _Scale(dtype="float64")
    y, _, pullback = layer.forward_with_pullback(np.ones((2, 3)), True)
    grad_x, _ = pullback(np.ones((2, 3)), need_input_grad=wanted)
    assert (grad_x is not None) is wanted
    assert _FLAGS_SEEN[-1] is wanted
    assert layer.__dict__.get("backward_saw_needs_input_grad") is None  # put back after
    assert layer.needs_input_grad is True


def test_a_layer_class_held_as_an_attribute_is_not_taken_for_a_wrapped_layer():
    layer = _Scale(dtype="float64")
    layer.kind = gpukeras.layers.Dense  # a class, not a layer
    y, _, pullback = layer.forward_with_pullback(np.ones((2, 3)), True)
    assert pullback(np.ones((2, 3)))[0].shape == (2, 3)
