"""Models with several inputs and outputs in fit, evaluate and predict (issue 14).

Keras-made fixture: tests/fixtures/make_multi_io_fixtures.py (a subclassed model taking a
dict of two inputs through a shared layer and returning a dict of two outputs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "multi_io.npz")


class TwoHeads(keras.Model):
    """The fixture's model: ``shared`` on both inputs, a ``cls`` and a ``reg`` head."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shared = layers.Dense(8, activation="tanh")
        self.cls = layers.Dense(3, activation="softmax")
        self.reg = layers.Dense(1)

    def call(self, inputs):
        a = self.shared(inputs["a"])
        b = self.shared(inputs["b"])
        return {"cls": self.cls(a), "reg": self.reg(a + b)}


class ListHeads(keras.Model):
    """Two inputs in a list, two outputs in a list."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.cls = layers.Dense(3, activation="softmax")
        self.reg = layers.Dense(1)

    def call(self, inputs):
        first, second = inputs
        return [self.cls(first), self.reg(second)]


def _xy(rows: int = 64):
    x = {"a": FIXTURE["a"][:rows], "b": FIXTURE["b"][:rows]}
    y = {"cls": FIXTURE["cls"][:rows], "reg": FIXTURE["reg"][:rows]}
    return x, y


def _fixture_model(weighted: bool = False) -> TwoHeads:
    model = TwoHeads()
    x, _ = _xy(2)
    model(x)
    for name in ("shared", "cls", "reg"):
        getattr(model, name).set_weights([FIXTURE[f"initial/{name}/{i}"] for i in range(2)])
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss={"cls": "categorical_crossentropy", "reg": "mse"},
        loss_weights={"cls": 1.0, "reg": 0.5},
        metrics={"cls": ["accuracy"], "reg": ["mae"]},
        weighted_metrics={"reg": ["mae"]} if weighted else None,
    )
    return model


# -- Keras parity -------------------------------------------------------------------
@pytest.mark.parametrize("run", ["plain", "weighted"])
def test_two_inputs_two_outputs_shared_layer_train_as_keras_3(xp, run):
    model = _fixture_model(weighted=run == "weighted")
    x, y = _xy()
    weights = {"cls": FIXTURE["w_cls"], "reg": FIXTURE["w_reg"]} if run == "weighted" else None
    history = model.fit(
        x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
        validation_split=0.25, sample_weight=weights,
    )  # fmt: skip
    assert sorted(history.history) == list(FIXTURE[f"{run}/keys"])
    for key in history.history:
        np.testing.assert_allclose(history.history[key], FIXTURE[f"{run}/{key}"], rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), FIXTURE[f"{run}/evaluate"], 1e-5)
    predicted = model.predict(x, verbose=0)
    assert sorted(predicted) == ["cls", "reg"]
    for name, value in predicted.items():
        np.testing.assert_allclose(value, FIXTURE[f"{run}/predict/{name}"], rtol=1e-5, atol=1e-6)


def _functional_model() -> keras.Model:
    """The fixture's model as a functional graph: two named Inputs, a shared layer, an op."""
    a = keras.Input((6,), name="a")
    b = keras.Input((6,), name="b")
    shared = layers.Dense(8, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    cls = layers.Dense(3, activation="softmax", name="cls")(ha)
    reg = layers.Dense(1, name="reg")(ha + hb)
    model = keras.Model([a, b], [cls, reg])
    for name in ("shared", "cls", "reg"):
        model.get_layer(name).set_weights([FIXTURE[f"initial/{name}/{i}"] for i in range(2)])
    return model


def test_functional_two_inputs_two_outputs_shared_layer_train_as_keras_3(xp):
    model = _functional_model()
    assert model.output_names == ["cls", "reg"]
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=["categorical_crossentropy", "mse"],
        loss_weights=[1.0, 0.5],
        metrics=[["accuracy"], ["mae"]],
    )
    x, y = _xy()  # dicts keyed by input and output name
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                        validation_split=0.25)  # fmt: skip
    assert sorted(history.history) == list(FIXTURE["functional/keys"])
    for key in history.history:
        np.testing.assert_allclose(history.history[key], FIXTURE[f"functional/{key}"], rtol=1e-5)
    as_lists = ([x["a"], x["b"]], [y["cls"], y["reg"]])
    np.testing.assert_allclose(
        model.evaluate(*as_lists, verbose=0), FIXTURE["functional/evaluate"], rtol=1e-5
    )
    cls, reg = model.predict(x, verbose=0)
    np.testing.assert_allclose(cls, FIXTURE["functional/predict/cls"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reg, FIXTURE["functional/predict/reg"], rtol=1e-5, atol=1e-6)


def test_functional_one_element_output_list_trains_as_one_output(xp):
    a = keras.Input((6,), name="a")
    model = keras.Model(a, [layers.Dense(3, activation="softmax", name="cls")(a)])
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    x, y = _xy(32)
    assert sorted(model.fit(x["a"], [y["cls"]], verbose=0).history) == ["accuracy", "loss"]
    assert sorted(model.fit(x["a"], y["cls"], verbose=0).history) == ["accuracy", "loss"]


# -- logs, orders, results ------------------------------------------------------------
def test_list_outputs_log_the_losses_names_as_keras_does(xp):
    x, y = _xy(32)
    model = ListHeads()
    model.compile("sgd", ["categorical_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]])
    history = model.fit([x["a"], x["b"]], [y["cls"], y["reg"]], epochs=1, verbose=0)
    assert sorted(history.history) == [
        "accuracy", "categorical_crossentropy_loss", "loss", "mae", "mse_loss",
    ]  # fmt: skip
    logs = model.evaluate([x["a"], x["b"]], [y["cls"], y["reg"]], verbose=0, return_dict=True)
    ordered = model.evaluate([x["a"], x["b"]], [y["cls"], y["reg"]], verbose=0)
    names = ["loss", "accuracy", "mae", "categorical_crossentropy_loss", "mse_loss"]
    assert ordered == pytest.approx([logs[n] for n in names])
    assert logs["loss"] == pytest.approx(logs["categorical_crossentropy_loss"] + logs["mse_loss"])


def test_one_loss_serves_every_output_and_one_trained_output_logs_loss_only(xp):
    x, y = _xy(32)
    model = TwoHeads()
    model.compile("sgd", loss="mse")
    assert sorted(model.fit(x, y, epochs=1, verbose=0).history) == ["cls_loss", "loss", "reg_loss"]
    model = TwoHeads()
    model.compile("sgd", loss={"cls": None, "reg": "mse"})
    model.fit(x, y, epochs=1, verbose=0)  # builds; then cls's weights must not move
    before = model.cls.get_weights()
    history = model.fit(x, y, epochs=2, verbose=0)
    assert sorted(history.history) == ["loss"]
    for old, new in zip(before, model.cls.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_train_and_test_on_batch_and_predict_on_batch_take_structures(xp):
    x, y = _xy(16)
    model = _fixture_model()
    result = model.train_on_batch(x, y, return_dict=True)
    assert sorted(result) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    listed = model.test_on_batch(x, y)
    logs = model.test_on_batch(x, y, return_dict=True)
    order = ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    assert listed == pytest.approx([logs[n] for n in order])
    out = model.predict_on_batch(x)
    assert sorted(out) == ["cls", "reg"] and out["cls"].shape == (16, 3)


def test_per_output_sample_weight_weighs_only_its_output(xp):
    x, y = _xy(32)
    model = _fixture_model()
    zero_cls = {"cls": np.zeros(32, "float32"), "reg": np.ones(32, "float32")}
    logs = model.test_on_batch(x, y, sample_weight=zero_cls, return_dict=True)
    plain = model.test_on_batch(x, y, return_dict=True)
    assert logs["cls_loss"] == 0.0 and logs["reg_loss"] == pytest.approx(plain["reg_loss"])
    halves = model.test_on_batch(x, y, sample_weight=np.full(32, 0.5, "float32"), return_dict=True)
    assert halves["loss"] == pytest.approx(plain["loss"] * 0.5, rel=1e-6)


# -- data: rows, splits, streams --------------------------------------------------------
@pytest.mark.parametrize(
    "where, message",
    [
        ("x", r"Received: x\['b'\] with 31 rows, expected 32 \(rows of x\['a'\]\)"),
        ("y", r"Received: y\['reg'\] with 31 rows, expected 32 \(rows of x\['a'\]\)"),
        ("w", r"Received: sample_weight\['cls'\] with 31 rows, expected 32"),
        ("val", r"Received: validation_data\[1\]\['cls'\] with 31 rows, expected 32"),
    ],
)
def test_rows_are_checked_across_every_array_naming_the_one_that_differs(xp, where, message):
    x, y = _xy(32)
    model = _fixture_model()
    kwargs = {}
    if where == "x":
        x["b"] = x["b"][:31]
    elif where == "y":
        y["reg"] = y["reg"][:31]
    elif where == "w":
        kwargs["sample_weight"] = {"cls": np.ones(31), "reg": np.ones(32)}
    else:
        kwargs["validation_data"] = (x, {"cls": y["cls"][:31], "reg": y["reg"]})
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0, **kwargs)


def test_validation_split_holds_out_the_tail_of_every_array(xp):
    x, y = _xy(40)
    model = _fixture_model()
    model.compile("sgd", loss={"cls": "categorical_crossentropy", "reg": "mse"})
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    tail_x = {k: v[30:] for k, v in x.items()}
    tail_y = {k: v[30:] for k, v in y.items()}
    logs = model.evaluate(tail_x, tail_y, verbose=0, return_dict=True)
    for key in ("loss", "cls_loss", "reg_loss"):
        assert history.history[f"val_{key}"][0] == pytest.approx(logs[key], rel=1e-6)


def test_generators_and_sequences_may_yield_dicts(xp):
    x, y = _xy(32)

    class Batches(keras.utils.Sequence):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            rows = slice(16 * index, 16 * index + 16)
            return {k: v[rows] for k, v in x.items()}, {k: v[rows] for k, v in y.items()}

    model = _fixture_model()
    by_sequence = model.evaluate(Batches(), verbose=0, return_dict=True)
    by_arrays = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert by_sequence == pytest.approx(by_arrays)

    def generator():
        while True:
            yield from (Batches()[0], Batches()[1])

    history = model.fit(generator(), steps_per_epoch=2, epochs=2, verbose=0)
    assert sorted(history.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    inputs_only = (Batches()[i][0] for i in range(2))  # predict: each batch a dict of inputs
    predicted = model.predict(inputs_only, verbose=0)
    np.testing.assert_allclose(predicted["reg"], model.predict(x, verbose=0)["reg"], rtol=1e-6)


# -- compile's rules -------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"loss": "mse", "metrics": ["mae"]}, "must say which output each metric is for"),
        ({"loss": {"cls": "mse", "rgg": "mse"}}, "no output named 'rgg'"),
        ({"loss": "mse", "metrics": {"clz": ["mae"]}}, "no output named 'clz'"),
        ({"loss": "mse", "loss_weights": {"cls": 1.0, "regg": 2.0}}, "no output named 'regg'"),
        ({"loss": ["mse", "mse", "mse"]}, "the model has 2 outputs. Received: loss with 3"),
    ],
)
def test_per_output_compile_arguments_follow_keras_rules(xp, kwargs, message):
    x, y = _xy(8)
    model = TwoHeads()
    model.compile("sgd", **kwargs)
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0)


def test_targets_must_name_existing_outputs(xp):
    x, y = _xy(8)
    model = _fixture_model()
    with pytest.raises(ValueError, match="no output named 'label'"):
        model.fit(x, {"label": y["cls"], "reg": y["reg"]}, verbose=0)
    with pytest.raises(ValueError, match="one array per output"):
        model.fit(x, y["cls"], verbose=0)


# -- the sync contract and callbacks --------------------------------------------------
@pytest.mark.parametrize("kind", ["subclassed", "functional"])
def test_one_host_transfer_per_epoch_with_several_outputs(xp, kind):
    x, y = _xy()
    model = _fixture_model(weighted=True)
    if kind == "functional":
        model = _functional_model()
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


def test_callbacks_monitor_a_per_output_validation_loss(xp, tmp_path):
    x, y = _xy()
    model = _fixture_model()
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


class TwoInputs(keras.Model):
    """Two inputs in a dict, one output: the single-output logs and step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.gate = layers.Dense(6)
        self.out = layers.Dense(3, activation="softmax")

    def call(self, inputs):
        return self.out(self.gate(inputs["a"]) * inputs["b"])


def test_several_inputs_with_one_output_keep_single_output_logs(xp):
    x, y = _xy(40)
    model = TwoInputs()
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y["cls"], epochs=2, verbose=0, validation_split=0.25)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert model.predict(x, verbose=0).shape == (40, 3)
    loss, accuracy = model.evaluate(x, y["cls"], verbose=0)
    assert 0.0 <= accuracy <= 1.0 and loss > 0.0


def test_check_numerics_names_the_input_of_a_structure(xp):
    x, y = _xy(32)
    x["b"] = x["b"].copy()
    x["b"][3, 1] = np.nan
    model = _fixture_model()
    keras.debugging.enable_check_numerics()
    try:
        with pytest.raises(ValueError, match=r"`x\['b'\]` holds nan at row 3, column 1"):
            model.fit(x, y, epochs=1, shuffle=False, verbose=0)
    finally:
        keras.debugging.disable_check_numerics()


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

    x, y = _xy(16)
    reference = _fixture_model()
    expected = reference.test_on_batch(x, y, return_dict=True)["loss"]
    model = Custom()
    model(x)
    model.set_weights(reference.get_weights())
    model.compile("sgd", loss={"cls": "categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5})  # fmt: skip
    logs = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    assert logs["total"][0] == pytest.approx(expected, rel=1e-6)


def test_each_input_and_target_is_checked_against_its_own_shape(xp):
    x, y = _xy(16)
    model = _functional_model()
    model.compile("sgd", ["categorical_crossentropy", "mse"])
    with pytest.raises(ValueError, match=r"`x\['a'\]` does not match the model's input"):
        model.fit({"a": x["a"][:, :5], "b": x["b"]}, y, verbose=0)
    with pytest.raises(ValueError, match=r"`y\['cls'\]` does not match the model's output"):
        model.fit(x, {"cls": y["cls"][:, :2], "reg": y["reg"]}, verbose=0)


def test_backup_and_restore_resumes_a_multi_output_fit_exactly(xp, tmp_path):
    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model._epoch_progress.epoch == 1 and batch == 1:
                raise RuntimeError("interrupted")

    x, y = _xy(32)
    expected = _fixture_model().fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    backup = str(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="interrupted"):
        _fixture_model().fit(
            x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=1), Interrupt()],
        )  # fmt: skip
    resumed = _fixture_model().fit(
        x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=1)],
    )  # fmt: skip
    for key, values in resumed.history.items():
        assert values[-1] == pytest.approx(expected.history[key][-1], rel=1e-6)


def test_a_test_step_override_reports_per_output_metrics_as_the_builtin_step(xp):
    class Custom(TwoHeads):
        def test_step(self, data):
            return super().test_step(data)

    x, y = _xy(32)
    reference = _fixture_model(weighted=True)
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
