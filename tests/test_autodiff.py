"""The tape: records only inside a GradientTape and only what needs a gradient, frees its
graph after backward, and refuses host reads and in-place writes with clear errors."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpukeras as keras
from gpukeras import autodiff, ops
from gpukeras import backend as K
from gpukeras.autodiff import (
    GradientTape,
    NonDifferentiableError,
    OpShapeError,
    Tensor,
    TracedValueError,
)


def _var(xp, values, name="w", trainable=True):
    return keras.Variable(np.asarray(values, dtype="float32"), name=name, trainable=trainable)


def _host(x):
    return np.asarray(x.get() if hasattr(x, "get") else x)


def test_ops_return_plain_arrays_outside_a_tape(xp):
    w = _var(xp, [[1.0, 2.0]])
    out = ops.multiply(ops.exp(w), 2.0)
    assert type(out) is xp.ndarray and not autodiff.is_recording()
    assert type(w * 3.0) is xp.ndarray


def test_a_tape_records_only_what_needs_a_gradient(xp):
    x = xp.ones((2, 3), dtype="float32")
    w = _var(xp, np.ones((3, 1)))
    with GradientTape():
        assert autodiff.is_recording()
        plain = ops.exp(x)
        traced = ops.matmul(plain, w)
    assert type(plain) is xp.ndarray
    assert isinstance(traced, Tensor) and traced._node.op == "matmul"


def test_gradient_of_a_small_model_matches_the_closed_form(xp):
    x = xp.asarray(np.arange(6, dtype="float32").reshape(2, 3))
    w = _var(xp, np.full((3, 2), 0.5))
    b = _var(xp, [0.1, -0.2], name="b")
    with GradientTape() as tape:
        loss = ops.mean(ops.square(x @ w + b))
    grad_w, grad_b = tape.gradient(loss, [w, b])
    y = _host(x) @ np.full((3, 2), 0.5) + np.array([0.1, -0.2])
    np.testing.assert_allclose(_host(grad_w), _host(x).T @ y / 2, rtol=1e-6)
    np.testing.assert_allclose(_host(grad_b), y.sum(axis=0) / 2, rtol=1e-6)
    assert grad_w.dtype == np.float32 and grad_w.shape == (3, 2)


def test_broadcast_gradients_are_summed_back_to_the_variable_shape(xp):
    column = _var(xp, np.ones((3, 1)))
    with GradientTape() as tape:
        total = ops.sum(column * xp.ones((2, 3, 4), dtype="float32"))
    np.testing.assert_array_equal(_host(tape.gradient(total, column)), np.full((3, 1), 8.0))


def test_a_variable_used_twice_accumulates_both_paths(xp):
    w = _var(xp, [2.0])
    with GradientTape() as tape:
        y = ops.sum(w * w + 3.0 * w)
    np.testing.assert_allclose(_host(tape.gradient(y, w)), [7.0])


def test_scalar_variables_stay_zero_dimensional(xp):
    w = keras.Variable(np.float32(3.0), name="scale")
    assert w.shape == () and w.value.ndim == 0
    with GradientTape() as tape:
        y = w * xp.asarray([1.0, 2.0], dtype="float32")
        loss = ops.sum(y)
    grad = tape.gradient(loss, w)
    assert type(grad) is xp.ndarray and grad.shape == () and float(_host(grad)) == 3.0


def test_trainable_variables_are_watched_automatically(xp):
    w = _var(xp, [1.0])
    frozen = _var(xp, [1.0], name="frozen", trainable=False)
    with GradientTape() as tape:
        y = ops.sum(w * frozen)
    assert tape.watched_variables() == [w]
    grad_w, grad_frozen = tape.gradient(y, [w, frozen])
    assert grad_frozen is None and _host(grad_w).tolist() == [1.0]


def test_watch_accessed_variables_false_watches_only_what_is_asked(xp):
    w, v = _var(xp, [2.0]), _var(xp, [5.0], name="v")
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(v)
        y = ops.sum(w * v)
    grad_w, grad_v = tape.gradient(y, [w, v])
    assert grad_w is None and _host(grad_v).tolist() == [2.0]


def test_watched_arrays_get_gradients(xp):
    x = xp.asarray([1.0, 2.0], dtype="float32")
    with GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.square(x))
    np.testing.assert_allclose(_host(tape.gradient(y, x)), [2.0, 4.0])


def test_unconnected_sources_get_none_or_zeros(xp):
    w, unused = _var(xp, [1.0]), _var(xp, [1.0, 2.0], name="unused")
    with GradientTape(persistent=True) as tape:
        y = ops.sum(w * 2.0)
    assert tape.gradient(y, unused) is None
    assert _host(tape.gradient(y, unused, unconnected_gradients="zero")).tolist() == [0.0, 0.0]


def test_a_non_persistent_tape_answers_once_and_frees_its_nodes(xp):
    w = _var(xp, [1.0, 2.0])
    with GradientTape() as tape:
        y = ops.sum(ops.exp(w))
    node = y._node
    tape.gradient(y, w)
    assert node.vjp is None and node.parents == []
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(y, w)


def test_a_persistent_tape_answers_again(xp):
    w = _var(xp, [1.0, 2.0])
    with GradientTape(persistent=True) as tape:
        y = ops.sum(ops.square(w))
        z = ops.sum(w * 3.0)
    np.testing.assert_allclose(_host(tape.gradient(y, w)), [2.0, 4.0])
    np.testing.assert_allclose(_host(tape.gradient(y, w)), [2.0, 4.0])
    np.testing.assert_allclose(_host(tape.gradient(z, w)), [3.0, 3.0])


def test_nothing_recorded_outlives_a_training_step(xp):
    w = _var(xp, np.ones((4, 4)))
    probes = []
    for _ in range(3):
        with GradientTape() as tape:
            hidden = ops.tanh(w @ xp.ones((4, 2), dtype="float32"))
            loss = ops.mean(hidden)
        probes.append(weakref.ref(hidden))
        w.value -= 0.1 * tape.gradient(loss, w)
        del hidden, loss, tape
    gc.collect()
    assert [p() for p in probes] == [None, None, None]


def test_nested_tapes_each_answer_for_their_sources(xp):
    x = xp.asarray([3.0], dtype="float32")
    w = _var(xp, [2.0])
    with GradientTape() as outer:
        with GradientTape(watch_accessed_variables=False) as inner:
            inner.watch(x)
            y = ops.sum(w * x * x)
        grad_x = inner.gradient(y, x)  # frees nothing the outer tape still needs
    np.testing.assert_allclose(_host(grad_x), [12.0])
    np.testing.assert_allclose(_host(outer.gradient(y, w)), [9.0])


def test_gradients_are_distinct_writable_arrays(xp):
    a, b = _var(xp, [1.0], name="a"), _var(xp, [2.0], name="b")
    with GradientTape() as tape:
        y = ops.sum(ops.add(a, b))
    grad_a, grad_b = tape.gradient(y, [a, b])
    grad_a *= 10.0
    assert _host(grad_b).tolist() == [1.0]


def test_output_gradients_seed_the_backward_pass(xp):
    w = _var(xp, [1.0, 2.0])
    with GradientTape() as tape:
        y = ops.sum(w * 2.0)
    grad = tape.gradient(y, w, output_gradients=xp.asarray(128.0, dtype="float32"))
    np.testing.assert_allclose(_host(grad), [256.0, 256.0])


def test_stop_gradient_cuts_the_path(xp):
    w = _var(xp, [3.0])
    with GradientTape() as tape:
        y = ops.sum(w * ops.stop_gradient(w))
    np.testing.assert_allclose(_host(tape.gradient(y, w)), [3.0])


def test_value_and_grad_differentiates_the_first_argument(xp):
    w = _var(xp, [1.0, -2.0])

    def loss_fn(weights, scale):
        value = ops.sum(ops.square(weights[0])) * scale
        return value, {"twice": value * 2.0}

    (value, aux), grads = keras.value_and_grad(loss_fn, has_aux=True)([w], 0.5)
    assert float(_host(value)) == 2.5 and float(_host(aux["twice"])) == 5.0
    np.testing.assert_allclose(_host(grads[0]), [1.0, -2.0])
    assert not isinstance(value, Tensor)


def test_value_and_grad_on_arrays_returns_zeros_for_unused_leaves(xp):
    x, unused = xp.asarray([2.0], dtype="float32"), xp.asarray([1.0], dtype="float32")
    value, grads = autodiff.value_and_grad(lambda pair: ops.sum(pair[0] ** 3.0))([x, unused])
    assert float(_host(value)) == 8.0
    np.testing.assert_allclose(_host(grads[0]), [12.0])
    np.testing.assert_allclose(_host(grads[1]), [0.0])


def test_record_joins_a_hand_written_backward_as_one_node(xp):
    w = _var(xp, [1.0, 2.0])
    plain = autodiff.record(xp.zeros(2), [xp.ones(2)], lambda g: (g,), "noop")
    assert type(plain) is xp.ndarray  # outside a tape: the value itself
    with GradientTape() as tape:
        doubled = autodiff.record(w.value * 2.0, [w], lambda g: (g * 2.0,), "double")
        loss = ops.sum(doubled)
    assert doubled._node.op == "double"
    np.testing.assert_allclose(_host(tape.gradient(loss, w)), [2.0, 2.0])


def test_recording_adds_no_host_sync(xp):
    w = _var(xp, np.ones((3, 3)))
    before = K.host_syncs()
    with GradientTape() as tape:
        loss = ops.mean(ops.nn.softmax(w @ w))
    tape.gradient(loss, w)
    assert K.host_syncs() == before


def test_a_shape_mismatch_names_the_layer_and_the_op(xp):
    w = _var(xp, np.ones((3, 2)))
    with GradientTape(), autodiff.scope("my_layer"):
        with pytest.raises(
            OpShapeError, match=r"layer 'my_layer', op 'matmul'.*\(2, 4\), \(3, 2\)"
        ):
            ops.matmul(xp.ones((2, 4), dtype="float32"), w)
    with pytest.raises(OpShapeError, match=r"op 'add'.*\(3,\), \(4,\)"):
        ops.add(xp.ones(3), xp.ones(4))


@pytest.mark.parametrize(
    "read",
    [float, int, bool, np.asarray, lambda t: t.numpy()],
    ids=["float", "int", "bool", "array", "numpy"],
)
def test_reading_a_traced_value_on_the_host_is_refused(xp, read):
    w = _var(xp, [1.5])
    with GradientTape():
        with autodiff.scope("dense_1"):
            y = ops.sum(w * 2.0)
        with pytest.raises(TracedValueError, match=r"layer 'dense_1', op 'multiply'|op 'sum'"):
            read(y)
        with pytest.raises(TracedValueError, match="variable 'w'"):
            float(w)
    assert float(y) == 3.0  # after the tape: an ordinary (counted) read


def test_writing_into_a_traced_value_is_refused(xp):
    w = _var(xp, [1.0, 2.0])
    spare = _var(xp, [0.0], name="spare")
    with GradientTape():
        with autodiff.scope("my_layer"):
            y = w * 2.0
        with pytest.raises(TracedValueError, match=r"layer 'my_layer', op 'multiply'.*in-place"):
            y[0] = 5.0
        with pytest.raises(TracedValueError, match="in-place write.*'w'"):
            w.assign([3.0, 4.0])
        spare.assign([1.0])  # a variable no op has read may still be written
    w.assign([3.0, 4.0])
    assert w.numpy().tolist() == [3.0, 4.0]


def test_a_gradient_through_argmax_is_refused_naming_the_op(xp):
    w = _var(xp, [[1.0, 3.0, 2.0]])
    with GradientTape() as tape:
        with autodiff.scope("picker"):
            index = ops.argmax(w, axis=-1)
        loss = ops.sum(ops.cast(index, "float32") * w)
    with pytest.raises(NonDifferentiableError, match=r"layer 'picker', op 'argmax'"):
        tape.gradient(loss, w)


def test_comparisons_are_constants_to_the_tape(xp):
    w = _var(xp, [-1.0, 2.0])
    with GradientTape() as tape:
        mask = ops.cast(w > 0.0, "float32")
        loss = ops.sum(w * mask)
    assert type(mask) is xp.ndarray
    np.testing.assert_allclose(_host(tape.gradient(loss, w)), [0.0, 1.0])


def test_python_scalars_and_mixed_dtypes_follow_keras(xp):
    f32 = xp.ones(2, dtype="float32")
    assert ops.multiply(f32, 2.0).dtype == np.float32
    assert ops.add(xp.arange(3, dtype="int32"), 1.5).dtype == np.float32
    assert ops.add(xp.arange(3, dtype="int32"), f32[:1]).dtype == np.float32
    assert ops.add(xp.ones(2, dtype="float16"), f32).dtype == np.float32
    assert ops.mean(xp.arange(4, dtype="int32")).dtype == np.float32


def test_a_half_precision_variable_gets_a_half_precision_gradient(xp):
    w = keras.Variable(np.ones(2, dtype="float16"), name="half")
    with GradientTape() as tape:
        loss = ops.sum(w * xp.ones(2, dtype="float32"))
    grad = tape.gradient(loss, w)
    assert grad.dtype == np.float16


def test_variable_operators_and_numpy_conversion_outside_a_tape(xp):
    w = _var(xp, [1.0, 2.0])
    assert _host(2.0 - w).tolist() == [1.0, 0.0]
    assert _host(w @ w).tolist() == 5.0
    assert np.asarray(w).tolist() == [1.0, 2.0]
    assert _host(w[1]).tolist() == 2.0
    w.assign_add([1.0, 1.0])
    w.assign_sub([0.5, 0.5])
    assert w.numpy().tolist() == [1.5, 2.5]
    assert w in [w] and len({w, w}) == 1  # == stays identity for Variables


@pytest.mark.parametrize(
    "expression, op",
    [
        (lambda t: t + 1.0, "add"),
        (lambda t: 1.0 + t, "add"),
        (lambda t: t - 1.0, "subtract"),
        (lambda t: 1.0 - t, "subtract"),
        (lambda t: t * 2.0, "multiply"),
        (lambda t: 2.0 * t, "multiply"),
        (lambda t: t / 2.0, "divide"),
        (lambda t: 2.0 / t, "divide"),
        (lambda t: t**2.0, "power"),
        (lambda t: 2.0**t, "power"),
        (lambda t: t % 2.0, "mod"),
        (lambda t: t @ t, "matmul"),
        (lambda t: -t, "negative"),
        (lambda t: abs(t), "absolute"),
        (lambda t: t[1:], "getitem"),
        (lambda t: t.T, "transpose"),
        (lambda t: t.reshape(3, 1), "reshape"),
        (lambda t: t.astype("float64"), "cast"),
    ],
)
def test_tensor_and_variable_operators_record_their_op(xp, expression, op):
    w = _var(xp, [1.0, 2.0, 3.0])
    with GradientTape():
        if op not in ("transpose", "reshape", "cast"):  # array methods: Tensors only
            assert expression(w)._node.op == op
        traced = w * 1.0
        assert expression(traced)._node.op == op
        assert type(traced > 1.0) is xp.ndarray  # comparisons: constants


def test_array_operands_defer_to_tensors_and_variables(xp):
    w = _var(xp, [1.0, 2.0])
    with GradientTape() as tape:
        y = xp.asarray([3.0, 4.0], dtype="float32") * w
        loss = ops.sum(y)
    assert isinstance(y, Tensor)
    np.testing.assert_allclose(_host(tape.gradient(loss, w)), [3.0, 4.0])


def test_variables_accept_keras_spellings(xp):
    assert keras.Variable(3.0).dtype == np.float32  # floatx, not float64
    ones = keras.Variable(initializer="ones", shape=(2, 3), dtype="float64", name="o")
    assert ones.shape == (2, 3) and ones.dtype == np.float64 and _host(ones.value).sum() == 6
    with pytest.raises(ValueError, match="needs a shape"):
        keras.Variable(initializer="zeros")


def test_needs_gradient_tells_a_layer_which_inputs_to_differentiate(xp):
    w, data = _var(xp, [1.0]), xp.ones(1, dtype="float32")
    with GradientTape():
        assert autodiff.needs_gradient(w) and not autodiff.needs_gradient(data)
        assert autodiff.needs_gradient(w * 2.0)


def test_custom_gradient_joins_the_tape_with_its_own_gradient(xp):
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(upstream):
            return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1.0, e))

        return ops.log(1.0 + e), grad

    w = _var(xp, [0.0, 50.0])
    with GradientTape() as tape:
        y = log1pexp(w)
        loss = ops.sum(y)
    assert y._node.op == "log1pexp"
    np.testing.assert_allclose(_host(tape.gradient(loss, w)), [0.5, 1.0])
    assert type(log1pexp(xp.zeros(2, dtype="float32"))) is xp.ndarray


def test_outside_a_tape_no_op_builds_a_node(xp, monkeypatch):
    from gpukeras.ops import _registry

    def refuse(*args):
        raise AssertionError("a node was built outside a tape")

    monkeypatch.setattr(_registry, "make_node", refuse)
    w = _var(xp, np.ones((2, 2)))
    out = ops.sum(ops.nn.softmax(ops.matmul(w, w) * 2.0 + w))
    assert type(out) is xp.ndarray


def test_stop_recording_runs_a_block_unrecorded(xp):
    w = _var(xp, [2.0])
    with GradientTape() as tape:
        with tape.stop_recording():
            constant = w * 3.0
        loss = ops.sum(w * constant)
    assert type(constant) is xp.ndarray
    np.testing.assert_allclose(_host(tape.gradient(loss, w)), [6.0])


def test_a_moving_statistic_may_be_updated_inside_the_tape(xp):
    x = _var(xp, [1.0, 3.0], name="x")
    moving = _var(xp, [10.0, 10.0], name="moving_mean", trainable=False)
    storage = moving.value
    with GradientTape() as tape:
        scaled = x * moving  # the node keeps moving's value for x's gradient
        moving.assign(moving * 0.5 + ops.stop_gradient(x) * 0.5)
        loss = ops.sum(scaled)
    np.testing.assert_allclose(_host(tape.gradient(loss, x)), [10.0, 10.0])
    assert moving.numpy().tolist() == [5.5, 6.5]
    assert _host(storage).tolist() == [10.0, 10.0]  # a fresh array, the old one intact


def test_a_variable_no_recorded_op_kept_is_written_in_place(xp):
    counter = _var(xp, [0.0], name="counter", trainable=False)
    storage = counter.value
    with GradientTape():
        counter.assign_add(counter * 0.0 + 1.0)  # read, but by ops that recorded nothing
    assert counter.value is storage and counter.numpy().tolist() == [1.0]


@st.composite
def _broadcastable_shapes(draw):
    full = draw(st.lists(st.integers(1, 3), min_size=0, max_size=4))

    def part():
        keep = draw(st.integers(0, len(full)))
        return tuple(n if draw(st.booleans()) else 1 for n in full[len(full) - keep :])

    return part(), part()


@settings(max_examples=40, deadline=None)
@given(_broadcastable_shapes())
def test_broadcast_gradients_sum_back_for_any_shapes(shapes):
    a_shape, b_shape = shapes
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    with GradientTape() as tape:
        tape.watch([a, b])
        loss = ops.sum(ops.multiply(a, b))
    grad_a, grad_b = (K.to_host(g) for g in tape.gradient(loss, [a, b]))
    ones = np.ones(np.broadcast_shapes(a_shape, b_shape))
    np.testing.assert_allclose(grad_a, _sum_to(ones * b, a_shape))
    np.testing.assert_allclose(grad_b, _sum_to(ones * a, b_shape))
    assert grad_a.shape == a_shape and grad_b.shape == b_shape


def _sum_to(x, shape):
    x = x.sum(axis=tuple(range(x.ndim - len(shape))))
    return x.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


def test_value_and_grad_takes_python_numbers_as_floatx_leaves(xp):
    weights = xp.asarray([1.0, 2.0], dtype="float32")
    grad_fn = autodiff.value_and_grad(
        lambda a, pair: ops.sum(a * a * pair[0] + pair[1]), argnums=(0, 1)
    )
    value, (grad_a, grad_pair) = grad_fn(3.0, [weights, 1.0])
    assert float(_host(value)) == 29.0
    assert grad_a.dtype == np.float32 and float(_host(grad_a)) == 18.0
    assert _host(grad_pair[0]).tolist() == [9.0, 9.0] and float(_host(grad_pair[1])) == 2.0
