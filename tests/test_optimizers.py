"""Optimizers: Keras 3 parity traces, in-place updates, learning rates, config and bad input."""

from __future__ import annotations

import json
import re
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

import gpukeras
from gpukeras import backend as K
from gpukeras import optimizers
from gpukeras.optimizers import schedules
from gpukeras.variables import Variable

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "optimizers.npz")
CASES = [str(name) for name in FIXTURES["cases"]]
STEPS = 5
IDS = ["sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta", "adamax", "nadam"]


def _variables(xp, dtype="float32"):
    return [
        Variable(xp.asarray(FIXTURES["init/0"], dtype=dtype), "kernel"),
        Variable(xp.asarray(FIXTURES["init/1"], dtype=dtype), "bias"),
    ]


def _grads(xp, step, dtype="float32"):
    return [xp.asarray(FIXTURES[f"grads/{step}/{i}"], dtype=dtype) for i in range(2)]


def _optimizer_for(case):
    spec = json.loads(str(FIXTURES[f"{case}/spec"]))
    kwargs = dict(spec["kwargs"])
    if spec["schedule"] is not None:
        kwargs["learning_rate"] = schedules.deserialize(spec["schedule"])
    optimizer = optimizers.get({"class_name": spec["id"], "config": kwargs})
    if spec["exclude"]:
        optimizer.exclude_from_weight_decay(var_names=spec["exclude"])
    return optimizer, spec


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_trace(case, xp):
    optimizer, spec = _optimizer_for(case)
    variables = _variables(xp)
    for step in range(STEPS):
        if str(step) in spec["set_lr"]:
            optimizer.learning_rate = spec["set_lr"][str(step)]
        assert optimizer.learning_rate == pytest.approx(
            float(FIXTURES[f"{case}/learning_rate/{step}"]), rel=1e-6
        )
        for variable, grad in zip(variables, _grads(xp, step), strict=True):
            variable.grad = grad
        optimizer.apply(variables)
        for i, variable in enumerate(variables):
            np.testing.assert_allclose(
                K.to_host(variable.value),
                FIXTURES[f"{case}/after/{step}/{i}"],
                rtol=1e-6,
                atol=1e-7,
                err_msg=f"{case}: variable {i} after step {step}",
            )
    assert optimizer.iterations == STEPS
    # Keras uniquifies the Nadam scalar's name ("variable_1"); the order is what matters.
    keras_names = [
        re.sub(r"^variable_\d+$", "variable", str(n)) for n in FIXTURES[f"{case}/opt_var_names"]
    ]
    assert optimizer.variable_names == keras_names
    for k, value in enumerate(optimizer.variables):
        np.testing.assert_allclose(
            np.asarray(K.to_host(value), dtype="float64"),
            FIXTURES[f"{case}/opt_vars/{k}"],
            rtol=1e-6,
            atol=1e-7,
            err_msg=f"{case}: optimizer variable {optimizer.variable_names[k]}",
        )


@pytest.mark.parametrize("case", ["sgd_momentum", "adam_clipnorm", "sgd_global_clipnorm"])
def test_apply_gradients_and_grads_list_match_apply_variables(case, xp):
    by_grad_attr, _ = _optimizer_for(case)
    by_pairs, _ = _optimizer_for(case)
    by_list, _ = _optimizer_for(case)
    a, b, c = _variables(xp), _variables(xp), _variables(xp)
    by_list.build(c)
    for step in range(3):
        grads = _grads(xp, step)
        for variable, grad in zip(a, grads, strict=True):
            variable.grad = grad
        by_grad_attr.apply(a)
        assert by_pairs.apply_gradients(zip(grads, b, strict=True)) == step + 1
        by_list.apply(grads)
    for x, y, z in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(K.to_host(x.value), K.to_host(y.value))
        np.testing.assert_array_equal(K.to_host(x.value), K.to_host(z.value))


@pytest.mark.parametrize(
    "identifier, kwargs",
    [(name, {}) for name in IDS]
    + [
        ("sgd", {"momentum": 0.9, "nesterov": True, "clipnorm": 1.0}),
        ("rmsprop", {"centered": True, "momentum": 0.5, "global_clipnorm": 1.0}),
        ("adam", {"amsgrad": True, "clipvalue": 0.1, "weight_decay": 0.01}),
        ("sgd", {"use_ema": True, "ema_overwrite_frequency": 2}),
    ],
)
def test_numpy_steps_update_in_place_without_allocating(identifier, kwargs):
    K.set_backend("numpy")
    optimizer = optimizers.get({"class_name": identifier, "config": kwargs})
    rng = np.random.default_rng(0)
    variables = [
        Variable(rng.normal(size=(256, 128)).astype("float32"), "kernel"),
        Variable(rng.normal(size=(128,)).astype("float32"), "bias"),
    ]
    for v in variables:
        v.grad = rng.normal(size=v.shape).astype("float32")
    optimizer.apply(variables)
    optimizer.apply(variables)  # scratch buffers, constants and flat buffers now exist
    values = [v.value for v in variables]
    slots = [s for s in optimizer.variables if getattr(s, "ndim", 0) > 0]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        optimizer.apply(variables)
        optimizer.apply(variables)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    kernel_bytes = variables[0].value.nbytes
    assert peak < kernel_bytes // 8, f"a step allocated {peak} bytes (kernel: {kernel_bytes})"
    assert all(v.value is value for v, value in zip(variables, values, strict=True))
    now = [s for s in optimizer.variables if getattr(s, "ndim", 0) > 0]
    assert len(now) == len(slots) and all(x is y for x, y in zip(now, slots, strict=True))


def test_setting_learning_rate_between_steps_takes_effect(xp):
    optimizer = optimizers.SGD(learning_rate=0.0)
    variable = Variable(xp.ones(3, dtype="float32"), "w")
    variable.grad = xp.ones(3, dtype="float32")
    optimizer.apply([variable])
    np.testing.assert_array_equal(K.to_host(variable.value), np.ones(3, "float32"))
    optimizer.learning_rate = 0.5
    assert optimizer.learning_rate == 0.5
    optimizer.apply([variable])
    np.testing.assert_array_equal(K.to_host(variable.value), np.full(3, 0.5, "float32"))
    assert optimizer.get_config()["learning_rate"] == 0.5


def test_learning_rate_is_a_float32_variable_like_keras():
    optimizer = optimizers.Adam()
    assert isinstance(optimizer.learning_rate, gpukeras.Variable)
    assert optimizer.learning_rate.dtype == np.float32
    assert float(optimizer.learning_rate) == float(np.float32(0.001)) == 0.0010000000474974513
    assert optimizer.learning_rate.numpy() == np.float32(0.001)


def test_schedule_evaluated_on_iterations_and_not_settable(xp):
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    optimizer = optimizers.SGD(learning_rate=schedule)
    variable = Variable(xp.zeros(2, dtype="float32"), "w")
    variable.grad = xp.ones(2, dtype="float32")
    rates = []
    for _ in range(3):
        rates.append(optimizer.learning_rate)
        optimizer.apply([variable])
    assert rates == pytest.approx([0.1, 0.05, 0.025])
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        optimizer.learning_rate = 0.1
    assert optimizer.variable_names == ["iteration"]  # no learning_rate variable, like Keras


def test_callable_learning_rate(xp):
    optimizer = optimizers.SGD(learning_rate=lambda: 0.25)
    variable = Variable(xp.zeros(1, dtype="float32"), "w")
    variable.grad = xp.ones(1, dtype="float32")
    optimizer.apply([variable])
    np.testing.assert_array_equal(K.to_host(variable.value), [-0.25])


def test_float64_variables_keep_their_dtype(xp):
    optimizer = optimizers.Adam(learning_rate=0.1, clipnorm=1.0)
    variable = Variable(xp.ones((2, 2), dtype="float64"), "w")
    variable.grad = xp.full((2, 2), 3.0, dtype="float64")
    optimizer.apply([variable])
    assert variable.value.dtype == np.float64
    assert all(s.dtype == np.float64 for s in optimizer.variables[2:])
    np.testing.assert_allclose(K.to_host(variable.value), np.full((2, 2), 0.9), rtol=1e-6)


def test_missing_gradients_are_skipped_with_a_warning(xp):
    optimizer = optimizers.SGD(learning_rate=1.0)
    a, b = Variable(xp.zeros(2), "a", path="d/a"), Variable(xp.zeros(2), "b", path="d/b")
    a.grad = xp.ones(2)
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['d/b'\]"):
        optimizer.apply([a, b])
    np.testing.assert_array_equal(K.to_host(a.value), [-1.0, -1.0])
    np.testing.assert_array_equal(K.to_host(b.value), [0.0, 0.0])
    a.grad = None
    with pytest.raises(ValueError, match="No gradients provided"):
        optimizer.apply([a, b])


def test_apply_checks_variables_and_shapes(xp):
    optimizer = optimizers.SGD()
    a = Variable(xp.zeros(2), "a")
    optimizer.apply([])  # no-op, like Keras
    assert optimizer.iterations == 0 and not optimizer.built
    with pytest.raises(ValueError, match="must already be built"):
        optimizer.apply([xp.ones(2)])
    optimizer.apply([xp.ones(2)], [a])
    with pytest.raises(ValueError, match="Unknown variable"):
        optimizer.apply([xp.ones(2)], [Variable(xp.zeros(2), "other")])
    with pytest.raises(ValueError, match=r"wrong shape: expected \(2,\)"):
        optimizer.apply([xp.ones(3)], [a])
    with pytest.raises(ValueError, match="one-to-one"):
        optimizer.apply([xp.ones(2), xp.ones(2)])


def test_set_weights_restores_state_exactly(xp):
    first, second = optimizers.Nadam(learning_rate=0.01), optimizers.Nadam(learning_rate=0.5)
    a, b = _variables(xp), _variables(xp)
    for step in range(2):
        first.apply_gradients(zip(_grads(xp, step), a, strict=True))
    second.build(b)
    second.set_weights([K.to_host(v) for v in first.variables])
    for x, y in zip(a, b, strict=True):
        y.assign(K.to_host(x.value))
    assert second.iterations == 2 and second.learning_rate == first.learning_rate
    for step in range(2, STEPS):
        first.apply_gradients(zip(_grads(xp, step), a, strict=True))
        second.apply_gradients(zip(_grads(xp, step), b, strict=True))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(K.to_host(x.value), K.to_host(y.value))
    store = {}
    first.save_own_variables(store)
    assert sorted(store, key=int) == [str(i) for i in range(len(first.variables))]
    with pytest.raises(ValueError, match="Expected 7 arrays"):
        second.set_weights([np.zeros(())])


def test_set_weights_needs_a_built_optimizer():
    with pytest.raises(ValueError, match="not yet been built"):
        optimizers.Adam().set_weights([])


def test_ema_finalize_overwrites_weights(xp):
    optimizer = optimizers.SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.5)
    variable = Variable(xp.zeros(1, dtype="float32"), "w")
    for _ in range(2):
        variable.grad = xp.ones(1, dtype="float32")
        optimizer.apply([variable])
    # Step 1: w=-1, average=-1 (momentum 0 on the first step); step 2: w=-2, average=-1.5.
    np.testing.assert_array_equal(K.to_host(variable.value), [-2.0])
    optimizer.finalize_variable_values([variable])
    np.testing.assert_array_equal(K.to_host(variable.value), [-1.5])


# --- get, config ---------------------------------------------------------------------------


@pytest.mark.parametrize("identifier", IDS + ["Adam", "RMSPROP", "SGD", "AdamW"])
def test_get_by_id_is_case_insensitive(identifier):
    optimizer = optimizers.get(identifier)
    assert type(optimizer).__name__.lower() == identifier.lower()


def test_get_dicts_instances_none_and_unknown():
    adam = optimizers.Adam()
    assert optimizers.get(adam) is adam
    assert optimizers.get(None) is None
    sgd = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.5, "momentum": 0.9}})
    assert isinstance(sgd, optimizers.SGD) and sgd.momentum == 0.9 and sgd.learning_rate == 0.5
    with pytest.raises(ValueError) as info:
        optimizers.get("foo")
    message = str(info.value)
    assert "Received: optimizer='foo'" in message
    assert all(repr(name) in message for name in IDS)
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get(42)


@pytest.mark.parametrize("identifier", IDS)
def test_config_round_trip(identifier):
    optimizer = optimizers.get(identifier)
    config = optimizer.get_config()
    assert list(config)[:11] == [
        "name",
        "learning_rate",
        "weight_decay",
        "clipnorm",
        "global_clipnorm",
        "clipvalue",
        "use_ema",
        "ema_momentum",
        "ema_overwrite_frequency",
        "loss_scale_factor",
        "gradient_accumulation_steps",
    ]
    json.dumps(config)
    clone = type(optimizer).from_config(config)
    assert clone.get_config() == config
    again = optimizers.deserialize(optimizers.serialize(optimizer))
    assert again.get_config() == config


def test_keras_defaults():
    expected = {
        "sgd": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
        "rmsprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7},
        "adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "amsgrad": False},
        "adamw": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9},
        "adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
        "adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
        "adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
        "nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    }
    for identifier, values in expected.items():
        config = optimizers.get(identifier).get_config()
        for key, value in values.items():
            assert config[key] == pytest.approx(value, rel=1e-7), (identifier, key)
    assert optimizers.get("rmsprop").get_config()["centered"] is False


def test_schedule_config_round_trip():
    schedule = schedules.CosineDecay(0.1, 10, alpha=0.2, warmup_target=0.2, warmup_steps=3)
    optimizer = optimizers.Adam(learning_rate=schedule)
    config = optimizer.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    clone = optimizers.Adam.from_config(json.loads(json.dumps(config)))
    assert isinstance(clone._learning_rate, schedules.CosineDecay)
    assert clone.learning_rate == optimizer.learning_rate


def test_names_follow_keras():
    assert re.fullmatch(r"rm_sprop(_\d+)?", optimizers.RMSprop().name)
    assert re.fullmatch(r"adam_w(_\d+)?", optimizers.AdamW().name)
    assert optimizers.SGD(name="mine").name == "mine"


# --- legacy names and bad input ------------------------------------------------------------


def test_lr_keyword_is_accepted_with_a_warning():
    with pytest.warns(DeprecationWarning, match="`lr` is deprecated"):
        optimizer = optimizers.SGD(lr=0.5)
    assert optimizer.learning_rate == 0.5
    with pytest.warns(DeprecationWarning):
        assert optimizer.lr == 0.5
    with pytest.warns(DeprecationWarning):
        optimizer.lr = 0.25
    assert optimizer.learning_rate == 0.25


def test_lr_and_learning_rate_together_is_a_type_error():
    with pytest.raises(
        TypeError, match=r"`lr`.*`learning_rate`.*Received: lr=0.5, learning_rate=0.1"
    ):
        optimizers.Adam(learning_rate=0.1, lr=0.5)


def test_decay_is_keras_2_time_based_decay_with_a_warning_and_unknown_arguments_rejected():
    with pytest.warns(DeprecationWarning, match="`decay` is deprecated"):
        optimizer = optimizers.SGD(learning_rate=0.5, decay=0.1)
    assert isinstance(optimizer._learning_rate, optimizers.schedules.InverseTimeDecay)
    optimizer._iterations = 10
    assert optimizer.learning_rate == pytest.approx(0.5 / (1 + 0.1 * 10))
    with pytest.raises(ValueError, match=r"not recognized: \['foo'\]"):
        optimizers.Adam(foo=1)


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: optimizers.SGD(learning_rate=-0.1), "learning_rate"),
        (lambda: optimizers.SGD(learning_rate="fast"), "learning_rate"),
        (lambda: optimizers.SGD(learning_rate=float("nan")), "learning_rate"),
        (lambda: optimizers.SGD(learning_rate=True), "learning_rate"),
        (lambda: optimizers.SGD(momentum=1.5), "momentum"),
        (lambda: optimizers.SGD(momentum=-0.1), "momentum"),
        (lambda: optimizers.RMSprop(rho=2.0), "rho"),
        (lambda: optimizers.RMSprop(epsilon=-1.0), "epsilon"),
        (lambda: optimizers.Adam(beta_1=1.0), "beta_1"),
        (lambda: optimizers.Adam(beta_2=1.5), "beta_2"),
        (lambda: optimizers.Adadelta(rho=-0.5), "rho"),
        (lambda: optimizers.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
        (lambda: optimizers.SGD(clipnorm=0.0), "clipnorm"),
        (lambda: optimizers.SGD(clipvalue=-1.0), "clipvalue"),
        (lambda: optimizers.SGD(global_clipnorm=0), "global_clipnorm"),
        (lambda: optimizers.SGD(weight_decay=-0.1), "weight_decay"),
        (lambda: optimizers.AdamW(weight_decay=None), "weight_decay"),
        (lambda: optimizers.SGD(use_ema=True, ema_momentum=2.0), "ema_momentum"),
        (
            lambda: optimizers.SGD(use_ema=True, ema_overwrite_frequency=0),
            "ema_overwrite_frequency",
        ),
        (lambda: optimizers.SGD(loss_scale_factor=-128.0), "loss_scale_factor"),
        (lambda: optimizers.SGD(gradient_accumulation_steps=1), "gradient_accumulation_steps"),
    ],
)
def test_bad_values_raise_value_error_naming_the_argument(make, argument):
    with pytest.raises(ValueError, match=f"`?{argument}`?"):
        make()


def test_only_one_clipping_argument():
    with pytest.raises(
        ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"
    ):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Adam(clipvalue=1.0, global_clipnorm=1.0)


def test_bad_learning_rate_assignment_and_schedule_arguments():
    optimizer = optimizers.SGD()
    with pytest.raises(ValueError, match="learning_rate=-1"):
        optimizer.learning_rate = -1
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5)
    with pytest.raises(ValueError, match="boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1])
    with pytest.raises(ValueError, match="Unknown learning rate schedule: 'Foo'"):
        schedules.deserialize({"class_name": "Foo", "config": {}})


def test_exclude_from_weight_decay_only_before_build(xp):
    optimizer = optimizers.AdamW()
    optimizer.apply([xp.ones(2)], [Variable(xp.zeros(2), "w")])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        optimizer.exclude_from_weight_decay(var_names=["bias"])


def test_non_finite_global_norm_gives_nan_like_keras(xp):
    optimizer = optimizers.SGD(learning_rate=0.1, global_clipnorm=1.0)
    variable = Variable(xp.zeros(2, dtype="float32"), "w")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        variable.grad = xp.asarray([np.inf, 1.0], dtype="float32")
        optimizer.apply([variable])
    assert np.isnan(K.to_host(variable.value)).all()
