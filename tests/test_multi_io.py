"""Models with several inputs and outputs in fit, evaluate and predict (issue 14): Keras 3
parity, log keys, data structures and their checks. Models and fixture: multi_io_support.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import layers
from tests.multi_io_support import (
    FIXTURE,
    ListHeads,
    SharedListHeads,
    TwoHeads,
    TwoInputs,
    fixture_model,
    functional_model,
    xy,
)


# -- Keras parity -------------------------------------------------------------------
@pytest.mark.parametrize("run", ["plain", "weighted"])
def test_two_inputs_two_outputs_shared_layer_train_as_keras_3(xp, run):
    model = fixture_model(weighted=run == "weighted")
    x, y = xy()
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


def test_functional_two_inputs_two_outputs_shared_layer_train_as_keras_3(xp):
    model = functional_model()
    assert model.output_names == ["cls", "reg"]
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=["categorical_crossentropy", "mse"],
        loss_weights=[1.0, 0.5],
        metrics=[["accuracy"], ["mae"]],
    )
    x, y = xy()  # dicts keyed by input and output name
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


def test_list_inputs_and_outputs_without_names_train_as_keras_3(xp):
    model = SharedListHeads()
    x, y = xy()
    x, y = [x["a"], x["b"]], [y["cls"], y["reg"]]
    model(x)
    for name in ("shared", "cls", "reg"):
        getattr(model, name).set_weights([FIXTURE[f"initial/{name}/{i}"] for i in range(2)])
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=["categorical_crossentropy", "mse"],
        loss_weights=[1.0, 0.5],
        metrics=[["accuracy"], ["mae"]],
    )
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                        validation_split=0.25)  # fmt: skip
    assert sorted(history.history) == list(FIXTURE["list/keys"])
    for key in history.history:
        np.testing.assert_allclose(history.history[key], FIXTURE[f"list/{key}"], rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), FIXTURE["list/evaluate"], 1e-5)


def test_functional_one_element_output_list_trains_as_one_output(xp):
    a = keras.Input((6,), name="a")
    model = keras.Model(a, [layers.Dense(3, activation="softmax", name="cls")(a)])
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    x, y = xy(32)
    assert sorted(model.fit(x["a"], [y["cls"]], verbose=0).history) == ["accuracy", "loss"]
    assert sorted(model.fit(x["a"], y["cls"], verbose=0).history) == ["accuracy", "loss"]


# -- logs, orders, results ------------------------------------------------------------
def test_list_outputs_log_the_losses_names_as_keras_does(xp):
    x, y = xy(32)
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
    x, y = xy(32)
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
    x, y = xy(16)
    model = fixture_model()
    result = model.train_on_batch(x, y, return_dict=True)
    assert sorted(result) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    listed = model.test_on_batch(x, y)
    logs = model.test_on_batch(x, y, return_dict=True)
    order = ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    assert listed == pytest.approx([logs[n] for n in order])
    out = model.predict_on_batch(x)
    assert sorted(out) == ["cls", "reg"] and out["cls"].shape == (16, 3)


def test_per_output_sample_weight_weighs_only_its_output(xp):
    x, y = xy(32)
    model = fixture_model()
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
    x, y = xy(32)
    model = fixture_model()
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
    x, y = xy(40)
    model = fixture_model()
    model.compile("sgd", loss={"cls": "categorical_crossentropy", "reg": "mse"})
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    tail_x = {k: v[30:] for k, v in x.items()}
    tail_y = {k: v[30:] for k, v in y.items()}
    logs = model.evaluate(tail_x, tail_y, verbose=0, return_dict=True)
    for key in ("loss", "cls_loss", "reg_loss"):
        assert history.history[f"val_{key}"][0] == pytest.approx(logs[key], rel=1e-6)


def test_generators_and_sequences_may_yield_dicts(xp):
    x, y = xy(32)

    class Batches(keras.utils.Sequence):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            rows = slice(16 * index, 16 * index + 16)
            return {k: v[rows] for k, v in x.items()}, {k: v[rows] for k, v in y.items()}

    model = fixture_model()
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


def test_several_inputs_with_one_output_keep_single_output_logs(xp):
    x, y = xy(40)
    model = TwoInputs()
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y["cls"], epochs=2, verbose=0, validation_split=0.25)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert model.predict(x, verbose=0).shape == (40, 3)
    loss, accuracy = model.evaluate(x, y["cls"], verbose=0)
    assert 0.0 <= accuracy <= 1.0 and loss > 0.0


def test_check_numerics_names_the_input_of_a_structure(xp):
    x, y = xy(32)
    x["b"] = x["b"].copy()
    x["b"][3, 1] = np.nan
    model = fixture_model()
    keras.debugging.enable_check_numerics()
    try:
        with pytest.raises(ValueError, match=r"`x\['b'\]` holds nan at row 3, column 1"):
            model.fit(x, y, epochs=1, shuffle=False, verbose=0)
    finally:
        keras.debugging.disable_check_numerics()


def test_each_input_and_target_is_checked_against_its_own_shape(xp):
    x, y = xy(16)
    model = functional_model()
    model.compile("sgd", ["categorical_crossentropy", "mse"])
    with pytest.raises(ValueError, match=r"`x\['a'\]` does not match the model's input"):
        model.fit({"a": x["a"][:, :5], "b": x["b"]}, y, verbose=0)
    with pytest.raises(ValueError, match=r"`y\['cls'\]` does not match the model's output"):
        model.fit(x, {"cls": y["cls"][:, :2], "reg": y["reg"]}, verbose=0)


def test_shuffled_batches_keep_the_rows_of_every_array_together(xp):
    class Echo(keras.Model):
        """Outputs its inputs (plus a zero-weighted Dense so that there is a weight)."""

        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1, kernel_initializer="zeros")

        def call(self, inputs):
            nothing = self.dense(inputs["b"]) * 0.0
            return {"first": inputs["a"] + nothing, "second": inputs["b"] + nothing}

    x, _ = xy(64)
    model = Echo()
    model.compile("sgd", loss="mse")
    y = {"first": x["a"], "second": x["b"]}  # a row's targets are that row's inputs
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=True, verbose=0,
                        validation_split=0.25)  # fmt: skip
    for key in ("loss", "first_loss", "second_loss", "val_loss"):
        assert history.history[key] == [0.0, 0.0, 0.0]


def test_a_model_with_one_input_or_output_refuses_several_arrays_naming_them(xp):
    model = keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy")
    x, y = xy(8)
    with pytest.raises(ValueError, match=r"`x` holds 2 arrays \(x\[0\], x\[1\]\), but model"):
        model.fit([x["a"], x["b"]], y["cls"], verbose=0)
    with pytest.raises(ValueError, match=r"`y` holds 2 arrays .* has one output"):
        model.fit(x["a"], [y["cls"], y["cls"]], verbose=0)
    history = model.fit([x["a"]], [y["cls"]], verbose=0)  # one array in a list is that array
    assert sorted(history.history) == ["loss"]


def test_functional_dict_outputs_take_targets_in_sorted_key_order_as_keras(xp):
    a = keras.Input((6,), name="a")
    hidden = layers.Dense(8, activation="tanh")(a)
    cls = layers.Dense(3, activation="softmax", name="cls")(hidden)
    reg = layers.Dense(1, name="reg")(hidden)
    model = keras.Model(a, {"reg": reg, "cls": cls})  # keys not in sorted order
    model.compile("sgd", {"cls": "categorical_crossentropy", "reg": "mse"}, metrics={"reg": "mae"})
    x, y = xy(32)
    by_list = model.evaluate(x["a"], [y["cls"], y["reg"]], verbose=0, return_dict=True)
    by_name = model.evaluate(x["a"], y, verbose=0, return_dict=True)
    assert sorted(by_name) == ["cls_loss", "loss", "reg_loss", "reg_mae"]
    assert by_list == pytest.approx(by_name)
    assert sorted(model.predict(x["a"], verbose=0)) == ["cls", "reg"]


def test_a_generator_may_yield_per_output_sample_weights(xp):
    x, y = xy(32)
    weights = {"cls": FIXTURE["w_cls"][:32], "reg": FIXTURE["w_reg"][:32]}
    model = fixture_model(weighted=True)

    def batches():
        for start in (0, 16):
            rows = slice(start, start + 16)
            yield tuple({k: v[rows] for k, v in part.items()} for part in (x, y, weights))

    by_generator = model.evaluate(batches(), verbose=0, return_dict=True)
    by_arrays = model.evaluate(x, y, batch_size=16, sample_weight=weights, verbose=0,
                               return_dict=True)  # fmt: skip
    assert by_generator == pytest.approx(by_arrays, rel=1e-6)
    assert by_arrays["reg_weighted_mae"] != pytest.approx(by_arrays["reg_mae"])
