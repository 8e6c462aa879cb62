"""Several outputs: compile's per-output rules, the sync contract, callbacks monitoring a
per-output key, resuming, and train_step/test_step overrides. Models: multi_io_support.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers
from tests.multi_io_support import (
    FIXTURE,
    ListHeads,
    TwoHeads,
    fixture_model,
    functional_model,
    xy,
)


# -- compile's rules -------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"loss": "mse", "metrics": ["mae"]}, "must say which output each metric is for"),
        ({"loss": {"cls": "mse", "rgg": "mse"}}, "no output named 'rgg'"),
        ({"loss": "mse", "metrics": {"clz": ["mae"]}}, "no output named 'clz'"),
        ({"loss": "mse", "loss_weights": {"cls": 1.0, "regg": 2.0}}, "no output named 'regg'"),
        ({"loss": ["mse", "mse", "mse"]}, "the model has 2 outputs. Received: loss with 3"),
        ({"loss": ["mse", "mse"], "loss_weights": 0.5}, "must match the number of losses"),
    ],
)
def test_per_output_compile_arguments_follow_keras_rules(xp, kwargs, message):
    x, y = xy(8)
    model = TwoHeads()
    model.compile("sgd", **kwargs)
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0)


def test_targets_must_name_existing_outputs_and_class_weight_needs_one_output(xp):
    x, y = xy(8)
    model = fixture_model()
    with pytest.raises(ValueError, match="no output named 'label'"):
        model.fit(x, {"label": y["cls"], "reg": y["reg"]}, verbose=0)
    with pytest.raises(ValueError, match="one array per output"):
        model.fit(x, y["cls"], verbose=0)
    unnamed = ListHeads()
    unnamed.compile("sgd", "mse")
    with pytest.raises(ValueError, match="Its 2 outputs have no names .* give a list"):
        unnamed.fit([x["a"], x["b"]], y, verbose=0)
    with pytest.raises(ValueError, match="`class_weight` is only supported for models with one"):
        model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 1.0}, verbose=0)


# -- the sync contract and callbacks --------------------------------------------------
@pytest.mark.parametrize("kind", ["subclassed", "functional"])
def test_one_host_transfer_per_epoch_with_several_outputs(xp, kind):
    x, y = xy()
    model = fixture_model(weighted=True)
    if kind == "functional":
        model = functional_model()
        model.compile(
            "sgd", ["categorical_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]],
            weighted_metrics=[[], ["mse"]],
        )  # fmt: skip
    weights = {"cls": FIXTURE["w_cls"], "reg": FIXTURE["w_reg"]}
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, sample_weight=weights)
    before = K.host_syncs()
    model.fit(
        x, y, batch_size=16, epochs=3, verbose=0, sample_weight=weights,
        validation_data=(x, y),
    )  # fmt: skip
    assert K.host_syncs() - before == 3  # one read per epoch, validation logs included


def test_predict_brings_every_output_back_in_one_transfer(xp):
    x, _ = xy(40)
    model = fixture_model()
    model.predict(x, batch_size=16, verbose=0)  # builds everything
    before = K.host_syncs()
    predicted = model.predict(x, batch_size=16, verbose=0)
    assert K.host_syncs() - before == 1
    one_batch = model.predict_on_batch({k: v[:16] for k, v in x.items()})
    for name in ("cls", "reg"):
        np.testing.assert_allclose(predicted[name][:16], one_batch[name], rtol=1e-6)
    assert predicted["cls"].shape == (40, 3) and predicted["reg"].shape == (40, 1)


def test_callbacks_monitor_a_per_output_validation_loss(xp, tmp_path):
    x, y = xy()
    model = fixture_model()
    seen = []
    stop = keras.callbacks.EarlyStopping(monitor="val_cls_loss", patience=0, mode="max")
    best = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "best.weights.h5"), monitor="val_reg_mae", save_best_only=True,
        save_weights_only=True,
    )  # fmt: skip
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_cls_loss", patience=0, mode="max")
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(logs["val_cls_loss"])
    )
    model.fit(
        x, y, epochs=5, verbose=0, validation_split=0.25,
        callbacks=[stop, best, plateau, record],
    )  # fmt: skip
    # SGD lowers val_cls_loss every epoch, so mode="max" sees no improvement after epoch 1
    assert len(seen) == 2 and seen[1] < seen[0]
    assert (tmp_path / "best.weights.h5").exists()
    assert float(K.to_host(model.optimizer.learning_rate)) == pytest.approx(0.01)


def test_a_train_step_override_gets_the_per_output_compiled_loss(xp):
    class Custom(TwoHeads):
        def train_step(self, data):
            x, y = data
            with keras.autodiff.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply(grads, self.trainable_weights)
            return {"total": loss}

    x, y = xy(16)
    reference = fixture_model()
    expected = reference.test_on_batch(x, y, return_dict=True)["loss"]
    model = Custom()
    model(x)
    model.set_weights(reference.get_weights())
    model.compile("sgd", loss={"cls": "categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5})  # fmt: skip
    logs = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    assert logs["total"][0] == pytest.approx(expected, rel=1e-6)


def test_backup_and_restore_resumes_a_multi_output_fit_exactly(xp, tmp_path):
    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model._epoch_progress.epoch == 1 and batch == 1:
                raise RuntimeError("interrupted")

    x, y = xy(32)
    expected = fixture_model().fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    backup = str(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="interrupted"):
        fixture_model().fit(
            x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=1), Interrupt()],
        )  # fmt: skip
    resumed = fixture_model().fit(
        x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=1)],
    )  # fmt: skip
    for key, values in resumed.history.items():
        assert values[-1] == pytest.approx(expected.history[key][-1], rel=1e-6)


def test_a_test_step_override_reports_per_output_metrics_as_the_builtin_step(xp):
    class Custom(TwoHeads):
        def test_step(self, data):
            return super().test_step(data)

    x, y = xy(32)
    reference = fixture_model(weighted=True)
    weights = {"cls": FIXTURE["w_cls"][:32], "reg": FIXTURE["w_reg"][:32]}
    expected = reference.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    model = Custom()
    model(x)
    model.set_weights(reference.get_weights())
    model.compile(
        "sgd", loss={"cls": "categorical_crossentropy", "reg": "mse"},
        loss_weights={"cls": 1.0, "reg": 0.5},
        metrics={"cls": ["accuracy"], "reg": ["mae"]}, weighted_metrics={"reg": ["mae"]},
    )  # fmt: skip
    logs = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    for key in ("loss", "cls_accuracy", "reg_mae", "reg_weighted_mae"):
        assert logs[key] == pytest.approx(expected[key], rel=1e-6)


def test_an_output_mask_counts_valid_timesteps_of_that_output_only(xp):
    tokens = keras.Input((5,), name="tokens")
    sequence = layers.Embedding(10, 4, mask_zero=True)(tokens)
    steps = layers.Dense(2, activation="softmax", name="steps")(sequence)
    pooled = layers.Dense(1, name="pooled")(layers.GlobalAveragePooling1D()(sequence))
    model = keras.Model(tokens, [steps, pooled])
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"], metrics=[["accuracy"], []])
    alone = keras.Model(tokens, steps)  # the same layers, the masked output alone
    alone.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, (16, 5))
    x[:, 3:] = 0  # two padded timesteps in every row
    labels, targets = rng.integers(0, 2, (16, 5)), rng.random((16, 1))
    both = model.evaluate(x, [labels, targets], verbose=0, return_dict=True)
    one = alone.evaluate(x, labels, verbose=0, return_dict=True)
    assert both["steps_loss"] == pytest.approx(one["loss"], rel=1e-6)
    assert both["steps_accuracy"] == pytest.approx(one["accuracy"], rel=1e-6)
    model.fit(x, [labels, targets], epochs=1, verbose=0)  # the masked step trains too


def test_the_compile_config_keeps_per_output_settings_and_compiles_again(xp):
    from gpukeras.saving import _compile_config as _config

    model = functional_model()
    model.compile(
        "sgd", loss=["categorical_crossentropy", keras.losses.MeanSquaredError()],
        loss_weights=[1.0, 0.5], metrics=[["accuracy"], ["mae"]],
    )  # fmt: skip
    config = _config.compile_config(model)
    assert config["loss"] == ["categorical_crossentropy", "mean_squared_error"]
    assert config["metrics"] == [["accuracy"], ["mae"]] and config["loss_weights"] == [1.0, 0.5]
    x, y = xy(32)
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    model.compile(**_config.compile_arguments(config, False, {}))
    assert model.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(expected)


def test_an_output_mask_trains_as_keras_3(xp):
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    embedded = layers.Embedding(10, 4, mask_zero=True, name="emb")(tokens)
    steps = layers.Dense(2, activation="softmax", name="steps")(embedded)
    pooled = layers.GlobalAveragePooling1D(name="pool")(embedded)
    model = keras.Model(tokens, [steps, layers.Dense(1, name="pooled")(pooled)])
    for name, count in (("emb", 1), ("steps", 2), ("pooled", 2)):
        weights = [FIXTURE[f"masked/initial/{name}/{i}"] for i in range(count)]
        model.get_layer(name).set_weights(weights)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=["sparse_categorical_crossentropy", "mse"],
        metrics=[["accuracy"], ["mae"]],
    )
    targets = [FIXTURE["masked/labels"], FIXTURE["masked/targets"]]
    history = model.fit(FIXTURE["masked/tokens"], targets, batch_size=8, epochs=3,
                        shuffle=False, verbose=0)  # fmt: skip
    assert sorted(history.history) == list(FIXTURE["masked/keys"])
    for key in ("loss", "steps_loss", "pooled_loss", "pooled_mae"):
        np.testing.assert_allclose(history.history[key], FIXTURE[f"masked/{key}"], rtol=1e-5)
    # Keras 3 on JAX counts every timestep in fit's accuracy (its evaluate counts the valid
    # ones); gpukeras counts the valid ones in both, for one output as for several.
    assert history.history["steps_accuracy"] != pytest.approx(FIXTURE["masked/steps_accuracy"])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_saved_two_output_functional_model_loads_compiled_as_it_was(xp, tmp_path, suffix):
    a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
    shared = layers.Dense(8, activation="tanh", name="shared")
    cls = layers.Dense(3, activation="softmax", name="cls")(shared(a))
    model = keras.Model([a, b], [cls, layers.Dense(1, name="reg")(shared(b))])
    model.compile(
        "sgd", ["categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
        metrics=[["accuracy"], ["mae"]],
    )  # fmt: skip
    x, y = xy(32)
    model.fit(x, y, verbose=0)
    model.save(tmp_path / f"model{suffix}")
    loaded = keras.saving.load_model(tmp_path / f"model{suffix}")
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(expected, rel=1e-6)
