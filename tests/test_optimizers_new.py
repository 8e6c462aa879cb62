"""Ftrl, Lion, Lamb, Adafactor, Muon, ScheduleFreeAdamW: Keras 3 traces, flat and per-variable
steps, device-only steps, config round trips, training, and Keras's argument checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import optimizers
from gpukeras.optimizers import schedules
from gpukeras.variables import Variable

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "optimizers_new.npz")
CASES = [str(name) for name in FIXTURES["cases"]]
NAMES = [str(name) for name in FIXTURES["names"]]
STEPS = 5
CLASSES = {
    "ftrl": optimizers.Ftrl,
    "lion": optimizers.Lion,
    "lamb": optimizers.Lamb,
    "adafactor": optimizers.Adafactor,
    "muon": optimizers.Muon,
    "schedulefreeadamw": optimizers.ScheduleFreeAdamW,
}


def _variables(xp):
    return [
        Variable(xp.asarray(FIXTURES[f"init/{i}"]), name, path=name) for i, name in enumerate(NAMES)
    ]


def _set_grads(variables, xp, step):
    for i, variable in enumerate(variables):
        variable.grad = xp.asarray(FIXTURES[f"grads/{step}/{i}"])


def _optimizer_for(case):
    spec = json.loads(str(FIXTURES[f"{case}/spec"]))
    kwargs = dict(spec["kwargs"])
    if spec["schedule"] is not None:
        kwargs["learning_rate"] = schedules.deserialize(spec["schedule"])
    return optimizers.get({"class_name": spec["id"], "config": kwargs})


@pytest.mark.parametrize("case", CASES)
def test_steps_match_keras_trace(case, xp):
    optimizer = _optimizer_for(case)
    variables = _variables(xp)
    for step in range(STEPS):
        _set_grads(variables, xp, step)
        optimizer.apply(variables)
        for i, variable in enumerate(variables):
            np.testing.assert_allclose(
                K.to_host(variable.value),
                FIXTURES[f"{case}/after/{step}/{i}"],
                rtol=1e-6,
                atol=1e-7,
                err_msg=f"{case}: {NAMES[i]} after step {step}",
            )
    # The optimizer's state has Keras's layout (order and shapes) and values.
    expected = [FIXTURES[key] for key in sorted(
        (k for k in FIXTURES.files if k.startswith(f"{case}/opt_vars/")),
        key=lambda k: int(k.rsplit("/", 1)[1]),
    )]  # fmt: skip
    assert len(optimizer.variables) == len(expected)
    for k, (ours, theirs) in enumerate(zip(optimizer.variables, expected, strict=True)):
        np.testing.assert_allclose(
            np.asarray(K.to_host(ours), dtype="float64"),
            theirs,
            rtol=1e-6,
            atol=1e-7,
            err_msg=f"{case}: optimizer variable {k} ({optimizer.variable_names[k]})",
        )


def _run(case, xp, flat):
    optimizer = _optimizer_for(case)
    optimizer.flat_update = flat
    variables = _variables(xp)
    for step in range(STEPS):
        _set_grads(variables, xp, step)
        optimizer.apply(variables)
    return [K.to_host(v) for v in [*(v.value for v in variables), *optimizer.variables]]


@pytest.mark.parametrize("case", CASES)
def test_flat_buffers_and_per_variable_steps_agree_bit_for_bit(case, xp):
    for flat, each in zip(_run(case, xp, True), _run(case, xp, False), strict=True):
        np.testing.assert_array_equal(flat, each)


@pytest.mark.parametrize("case", CASES)
def test_steps_read_nothing_on_the_host(case, xp):
    optimizer = _optimizer_for(case)
    variables = _variables(xp)
    _set_grads(variables, xp, 0)
    optimizer.apply(variables)  # building may read; steps may not
    before = K.host_syncs()
    for step in range(1, STEPS):
        _set_grads(variables, xp, step)
        optimizer.apply(variables)
    assert K.host_syncs() == before


@pytest.mark.parametrize("identifier", sorted(CLASSES))
def test_get_finds_each_optimizer_by_id_in_any_case(identifier):
    assert type(optimizers.get(identifier.upper())) is CLASSES[identifier]


@pytest.mark.parametrize("case", CASES)
def test_config_round_trips_through_serialize(case):
    optimizer = _optimizer_for(case)
    config = optimizer.get_config()
    rebuilt = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(rebuilt) is type(optimizer)
    assert rebuilt.get_config() == config
    assert json.loads(json.dumps(config)) == config  # plain JSON, as Keras saves it


KERAS_CONFIGS = json.loads(
    (Path(__file__).parent / "fixtures" / "optimizers_new_configs.json").read_text()
)


@pytest.mark.parametrize("name", sorted(KERAS_CONFIGS))
def test_keras_serialized_configs_load_and_serialize_back_unchanged(name):
    optimizer = optimizers.deserialize(KERAS_CONFIGS[name])
    assert type(optimizer).__name__ == KERAS_CONFIGS[name]["class_name"]
    assert optimizers.serialize(optimizer) == KERAS_CONFIGS[name]


def test_config_keys_and_defaults_are_keras():
    base = [
        "name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue",
        "use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
        "gradient_accumulation_steps",
    ]  # fmt: skip
    own = {
        "ftrl": {"learning_rate_power": -0.5, "initial_accumulator_value": 0.1,
                 "l1_regularization_strength": 0.0, "l2_regularization_strength": 0.0,
                 "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0},
        "lion": {"beta_1": 0.9, "beta_2": 0.99},
        "lamb": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
        "adafactor": {"beta_2_decay": -0.8, "epsilon_1": 1e-30, "epsilon_2": 1e-3,
                      "clip_threshold": 1.0, "relative_step": True},
        "muon": {"adam_beta_1": 0.9, "adam_beta_2": 0.999, "epsilon": 1e-7,
                 "exclude_layers": [], "muon_a": 3.4445, "muon_b": -4.7750, "muon_c": 2.0315,
                 "adam_lr_ratio": 1, "momentum": 0.95, "ns_steps": 5, "nesterov": True,
                 "exclude_embeddings": True, "adam_weight_decay": 0.004, "rms_rate": 0.2},
        "schedulefreeadamw": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8,
                              "warmup_steps": 0},
    }  # fmt: skip
    for identifier, defaults in own.items():
        config = CLASSES[identifier]().get_config()
        assert list(config) == base + list(defaults), identifier
        assert {key: config[key] for key in defaults} == defaults, identifier
    assert optimizers.Muon().weight_decay == 0.004
    assert optimizers.ScheduleFreeAdamW().learning_rate == pytest.approx(0.0025, rel=1e-7)


@pytest.mark.parametrize("identifier", sorted(CLASSES))
def test_a_small_model_trains_and_its_loss_falls(identifier, xp):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 2))).astype("float32")
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(2)]
    )
    rates = {"ftrl": 0.5, "lion": 0.003, "adafactor": 0.1, "muon": 0.05}
    model.compile(CLASSES[identifier](learning_rate=rates.get(identifier, 0.01)), "mse")
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.mark.parametrize(
    "optimizer",
    [
        optimizers.Adafactor(0.1),
        optimizers.Muon(0.05),
        optimizers.Lamb(0.01),
        optimizers.Ftrl(0.5),
        optimizers.Lion(0.003),
        optimizers.ScheduleFreeAdamW(0.01),
    ],
    ids=lambda optimizer: type(optimizer).__name__,
)
def test_a_saved_model_restores_the_optimizer_state(optimizer, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer, "mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer) is type(optimizer)
    assert loaded.optimizer.get_config() == optimizer.get_config()
    assert loaded.optimizer.variable_names == optimizer.variable_names
    for a, b in zip(loaded.optimizer.variables, optimizer.variables, strict=True):
        np.testing.assert_array_equal(K.to_host(a), K.to_host(b))
    # Training on from the restored state takes the same step as the original, to an ulp (a
    # reloaded model rounds some products an ulp apart; SGD and Adam models do too).
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# --- Keras's argument checks, with its wording ------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "value", "side"),
    [
        ("initial_accumulator_value", -0.1, "positive"),
        ("learning_rate_power", 0.1, "negative"),
        ("l1_regularization_strength", -0.1, "positive"),
        ("l2_regularization_strength", -0.1, "positive"),
        ("l2_shrinkage_regularization_strength", -0.1, "positive"),
    ],
)
def test_ftrl_refuses_a_strength_of_the_wrong_sign(argument, value, side):
    message = f"^`{argument}` needs to be {side} or zero. Received: {argument}={value}.$"
    with pytest.raises(ValueError, match=message):
        optimizers.Ftrl(**{argument: value})


@pytest.mark.parametrize("beta_1", [-0.1, 0.0, 1.1])
def test_lion_refuses_beta_1_outside_0_1(beta_1):
    with pytest.raises(ValueError, match=rf"degenerates to SignSGD. Received: beta_1={beta_1}"):
        optimizers.Lion(beta_1=beta_1)


@pytest.mark.parametrize(
    ("cls", "kwargs", "named"),
    [
        (optimizers.Lamb, {"beta_1": 1.0}, "beta_1=1.0"),
        (optimizers.Adafactor, {"clip_threshold": 0.0}, "clip_threshold=0.0"),
        (optimizers.Adafactor, {"epsilon_2": "big"}, "epsilon_2='big'"),
        (optimizers.Muon, {"ns_steps": 2.5}, "ns_steps=2.5"),
        (optimizers.Muon, {"exclude_layers": "dense"}, "exclude_layers='dense'"),
        (optimizers.Muon, {"exclude_layers": ["(unclosed"]}, r"exclude_layers=\['\(unclosed'\]"),
        (optimizers.ScheduleFreeAdamW, {"warmup_steps": -1}, "warmup_steps=-1"),
        (optimizers.ScheduleFreeAdamW, {"beta_1": 0.0}, "beta_1=0.0"),
    ],
)
def test_bad_arguments_are_refused_naming_the_value(cls, kwargs, named):
    with pytest.raises(ValueError, match=f"Received: .*{named}"):
        cls(**kwargs)


@pytest.mark.parametrize("identifier", sorted(CLASSES))
def test_accumulating_three_gradients_steps_like_their_mean(identifier, xp):
    # Keras's rule: t counts updates, not calls, so bias corrections and schedules match.
    make = CLASSES[identifier]
    once, accumulated = (
        make(weight_decay=0.05),
        make(weight_decay=0.05, gradient_accumulation_steps=3),
    )
    start = np.array([[0.9, 0.1], [0.5, 0.3]], dtype="float32")
    a, b = Variable(xp.asarray(start), "a"), Variable(xp.asarray(start), "b")
    rng = np.random.default_rng(0)
    for _ in range(4):
        grads = rng.random((3, 2, 2)).astype("float32")
        once.apply([xp.asarray(grads.mean(axis=0))], [a])
        for grad in grads:
            accumulated.apply([xp.asarray(grad)], [b])
    np.testing.assert_allclose(K.to_host(b.value), K.to_host(a.value), rtol=1e-6, atol=1e-7)
    assert int(accumulated.iterations) == int(once.iterations) == 4
