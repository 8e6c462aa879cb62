"""MultiOptimizer and OptimizerMap: routing variables by path, per-optimizer state, config,
saving, and the learning-rate callbacks that reach every sub-optimizer."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import callbacks, optimizers
from gpukeras.mixed_precision import LossScaleOptimizer
from gpukeras.variables import Variable


def _variable(path, value, xp):
    variable = Variable(np.array(value, dtype="float32"), path.rsplit("/", 1)[-1], path=path)
    variable.grad = xp.ones(variable.shape, dtype="float32")
    return variable


# --- OptimizerMap -------------------------------------------------------------------------------


def test_map_prefers_an_exact_key_then_one_full_regex_match_then_the_default():
    adam, sgd, default = optimizers.Adam(), optimizers.SGD(), optimizers.RMSprop()
    mapping = optimizers.OptimizerMap(default_optimizer=default)
    mapping["encoder/layer_0/dense"] = adam
    mapping["encoder/.*"] = sgd
    mapping["decoder"] = adam
    assert mapping["encoder/layer_0/dense"] is adam  # exact, though the regex matches too
    assert mapping["encoder/layer_0/attention/query"] is sgd
    assert mapping["decoder"] is adam
    assert mapping["decoder/layer_0/dense"] is default  # "decoder" must match the whole path
    assert len(mapping) == 3 and list(mapping) == ["encoder/layer_0/dense", "encoder/.*", "decoder"]
    del mapping["decoder"]
    assert mapping["decoder"] is default


def test_map_called_on_a_variable_looks_up_its_path_and_refuses_two_matches():
    adam, sgd = optimizers.Adam(), optimizers.SGD()
    mapping = optimizers.OptimizerMap(optimizers.RMSprop(), {".*kernel.*": adam, ".*dense.*": sgd})
    with K.name_scope("dense"):
        kernel = Variable(np.ones((1, 1), "float32"), "kernel")
    assert kernel.path == "dense/kernel"
    with pytest.raises(ValueError, match="Multiple optimizers assigned to variable dense/kernel"):
        mapping(kernel)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("a", "adam", "must be a Keras Optimizer instance. Received: optimizer='adam'"),
        (3, None, "key must be a string. Received: key=3"),
        ("(", None, r"regular expression .*Received: key='\('"),
        ("lso", "lso", "optimizer cannot be LossScaleOptimizer."),
        ("multi", "multi", "optimizer cannot be MultiOptimizer."),
        ("taken", None, "'taken' already exists in the OptimizerMap"),
    ],
)
def test_map_refuses_bad_keys_and_optimizers(key, value, message):
    mapping = optimizers.OptimizerMap(optimizers.SGD(), {"taken": optimizers.SGD()})
    values = {
        None: optimizers.SGD(),
        "lso": LossScaleOptimizer(optimizers.SGD()),
        "multi": optimizers.MultiOptimizer(optimizers.SGD()),
    }
    with pytest.raises(ValueError, match=message):
        mapping[key] = values.get(value, value)


def test_map_refuses_a_default_that_is_not_an_optimizer():
    with pytest.raises(TypeError, match="Received: default_optimizer='sgd'"):
        optimizers.OptimizerMap("sgd")
    with pytest.raises(TypeError, match=r"Received: optimizer_map=\[\]"):
        optimizers.OptimizerMap(optimizers.SGD(), [])


# --- MultiOptimizer -----------------------------------------------------------------------------


def _routed(xp):
    slow, fast, frozen = optimizers.SGD(0.1), optimizers.SGD(1.0), optimizers.SGD(0.0)
    mapping = optimizers.OptimizerMap(frozen, {"^dense_1/.*": slow, "^dense_2/.*": fast})
    variables = [
        _variable("dense_1/kernel", [[2.0, 2.0]], xp),
        _variable("dense_2/kernel", [[3.0, 3.0]], xp),
        _variable("other/kernel", [[4.0, 4.0]], xp),
    ]
    return optimizers.MultiOptimizer(mapping), variables, (slow, fast, frozen)


def test_each_variable_is_stepped_by_its_own_optimizer(xp):
    multi, variables, (slow, fast, frozen) = _routed(xp)
    multi.apply(variables)
    expected = [[[1.9, 1.9]], [[2.0, 2.0]], [[4.0, 4.0]]]
    for variable, want in zip(variables, expected, strict=True):
        np.testing.assert_allclose(K.to_host(variable.value), want, rtol=1e-6)
    assert multi.optimizers == [slow, fast, frozen]
    assert multi.iterations == 1 and [o.iterations for o in multi.optimizers] == [1, 1, 1]
    grads = [xp.full((1, 2), 2.0, dtype="float32") for _ in variables]
    multi.apply(grads, variables)  # Keras's (grads, variables) form too
    np.testing.assert_allclose(K.to_host(variables[1].value), [[0.0, 0.0]], rtol=1e-6)
    assert multi.iterations == 2


def test_sub_optimizers_keep_their_flat_single_call_steps(xp):
    multi, variables, (slow, _, _) = _routed(xp)
    multi.apply(variables)
    assert slow._flat is not None and slow._flat.holds([variables[0]], [variables[0].grad])


def test_a_callable_picks_optimizers_and_they_are_found_while_building(xp):
    adam, sgd = optimizers.Adam(0.001), optimizers.SGD(0.01)
    multi = optimizers.MultiOptimizer(lambda v: adam if "dense_1" in v.path else sgd)
    variables = [_variable("dense_1/kernel", [[1.0]], xp), _variable("dense_2/kernel", [[1.0]], xp)]
    multi.apply(variables)
    assert multi.optimizers == [adam, sgd]
    np.testing.assert_allclose(K.to_host(variables[1].value), [[0.99]], rtol=1e-6)
    with pytest.raises(ValueError, match="cannot be saved"):
        multi.get_config()


def test_nested_wrappers_are_refused_when_building(xp):
    mapping = optimizers.OptimizerMap(optimizers.SGD())
    mapping._optimizer_map = {"a/.*": LossScaleOptimizer(optimizers.SGD())}
    with pytest.raises(ValueError, match="LossScaleOptimizer cannot be used inside an Multi"):
        optimizers.MultiOptimizer(mapping).build([_variable("a/kernel", [[1.0]], xp)])
    inner = optimizers.MultiOptimizer(optimizers.SGD())
    with pytest.raises(ValueError, match="MultiOptimizer cannot be used inside an Multi"):
        optimizers.MultiOptimizer(lambda v: inner).build([_variable("b/kernel", [[1.0]], xp)])


def test_learning_rate_lives_on_the_sub_optimizers_only():
    multi = optimizers.MultiOptimizer(optimizers.SGD())
    with pytest.raises(AttributeError, match="sub-optimizers"):
        multi.learning_rate  # noqa: B018
    with pytest.raises(AttributeError, match="sub-optimizers"):
        multi.learning_rate = 0.1
    assert not hasattr(multi, "learning_rate")


def test_an_unknown_variable_is_refused_after_building(xp):
    multi, variables, _ = _routed(xp)
    multi.apply(variables)
    with pytest.raises(ValueError, match="Unknown variable"):
        multi.apply([_variable("new/kernel", [[1.0]], xp)])


def test_state_lists_own_then_each_sub_optimizer_and_restores(xp):
    adam, sgd = optimizers.Adam(0.1), optimizers.SGD(0.1, momentum=0.9)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd, {"a/.*": adam}))
    variables = [_variable("a/kernel", [[1.0, 2.0]], xp), _variable("b/kernel", [[3.0]], xp)]
    multi.apply(variables)
    names = multi.variable_names
    assert names[:2] == ["iteration", "learning_rate"]
    assert names[2:] == adam.variable_names + sgd.variable_names
    saved = [np.array(K.to_host(v)) for v in multi.variables]
    multi.apply(variables)
    multi.set_weights(saved)
    assert multi.iterations == 1 and adam.iterations == 1
    for now, before in zip(multi.variables, saved, strict=True):
        np.testing.assert_array_equal(K.to_host(now), before)
    with pytest.raises(ValueError, match=f"Expected {len(saved)} arrays"):
        multi.set_weights(saved[:-1])


def test_config_round_trips_through_serialize():
    mapping = optimizers.OptimizerMap(
        optimizers.RMSprop(1e-4), {"^dense_1/.*": optimizers.Adam(1e-3), "x": optimizers.SGD()}
    )
    multi = optimizers.MultiOptimizer(mapping, name="routes")
    config = optimizers.serialize(multi)
    rebuilt = optimizers.deserialize(config)
    assert type(rebuilt) is optimizers.MultiOptimizer and rebuilt.name == "routes"
    assert [type(o).__name__ for o in rebuilt.optimizers] == ["Adam", "SGD", "RMSprop"]
    assert optimizers.serialize(rebuilt) == config
    with pytest.raises(ValueError, match="serialized from an OptimizerMap"):
        optimizers.MultiOptimizer.from_config({"optimizer_map": {"class_name": "Lambda"}})


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="enc"), keras.layers.Dense(1, name="head")]
    )


def test_fit_trains_and_the_model_saves_and_loads_with_its_state(xp, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = _model()
    adam, sgd = optimizers.Adam(0.01), optimizers.SGD(0.1)
    model.compile(optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd, {"enc/.*": adam})), "mse")
    losses = model.fit(x, y, batch_size=8, epochs=3, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert adam.iterations == sgd.iterations == model.optimizer.iterations == 12
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path).optimizer
    assert type(loaded) is optimizers.MultiOptimizer
    assert loaded.variable_names == model.optimizer.variable_names
    for a, b in zip(loaded.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(K.to_host(a), K.to_host(b))


def test_schedule_callbacks_change_and_log_each_sub_optimizers_rate():
    fast, slow = optimizers.SGD(0.1, name="fast"), optimizers.SGD(0.01, name="slow")
    model = _model()
    model.compile(optimizers.MultiOptimizer(optimizers.OptimizerMap(slow, {"enc/.*": fast})), "mse")
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    scheduler.set_model(model)
    scheduler.on_epoch_begin(1)
    assert fast.learning_rate == pytest.approx(0.05) and slow.learning_rate == pytest.approx(0.005)
    logs = {}
    scheduler.on_epoch_end(1, logs)
    assert logs == {
        "learning_rate_fast": pytest.approx(0.05),
        "learning_rate_slow": pytest.approx(0.005),
    }
    plateau = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    plateau.set_model(model)
    plateau.on_train_begin()
    plateau.on_epoch_end(0, {"val_loss": 1.0})
    plateau.on_epoch_end(1, {"val_loss": 1.0})
    assert fast.learning_rate == pytest.approx(0.025) and slow.learning_rate == pytest.approx(
        0.0025
    )


def test_an_optimizer_map_round_trips_through_keras_object_serialization():
    from gpukeras import saving

    mapping = optimizers.OptimizerMap(optimizers.SGD(), {"a/.*": optimizers.Lion(0.01)})
    config = saving.serialize_keras_object(mapping)
    assert (config["module"], config["class_name"]) == ("keras.optimizers", "OptimizerMap")
    rebuilt = saving.deserialize_keras_object(config)
    assert type(rebuilt) is optimizers.OptimizerMap
    assert rebuilt.get_config() == mapping.get_config()
    with pytest.raises(ValueError, match="describes a OptimizerMap, not an optimizer"):
        optimizers.get(config)


def test_its_loss_scale_factor_is_every_sub_optimizers_and_unscales_their_gradients(xp):
    sgd, adam = optimizers.SGD(0.1, loss_scale_factor=2.0), optimizers.Adam(loss_scale_factor=3.0)
    multi = optimizers.MultiOptimizer(
        optimizers.OptimizerMap(sgd, {"a/.*": adam}), loss_scale_factor=5.0
    )
    assert sgd.loss_scale_factor == adam.loss_scale_factor == 5.0
    assert float(K.to_host(multi.scale_loss(xp.asarray(2.0, dtype="float32")))) == 10.0
    variable = _variable("b/kernel", [[2.0, 2.0]], xp)
    variable.grad = xp.full((1, 2), 10.0, dtype="float32")  # a gradient of the scaled loss
    multi.apply([variable])
    np.testing.assert_allclose(K.to_host(variable.value), [[1.8, 1.8]], rtol=1e-6)


def test_a_loss_scale_optimizer_around_it_turns_the_static_scales_off(xp):
    inner = optimizers.SGD(0.1)
    multi = optimizers.MultiOptimizer(inner, loss_scale_factor=5.0)
    wrapped = LossScaleOptimizer(multi, initial_scale=10.0)
    assert multi.loss_scale_factor is None and inner.loss_scale_factor is None
    variable = _variable("w", [[2.0, 2.0]], xp)
    variable.grad = xp.full((1, 2), 10.0, dtype="float32")
    wrapped.apply([variable])
    np.testing.assert_allclose(K.to_host(variable.value), [[1.9, 1.9]], rtol=1e-6)
