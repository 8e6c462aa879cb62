"""Custom losses and metrics: plain functions written with gpukeras.ops, Loss and Metric
subclasses, trained and logged on the device like the built-in ones."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops
from gpukeras.models._step import Step
from gpukeras.models._tape_step import TapeStep


def my_mse(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


class MyMSE(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)


def host_mse(y_true, y_pred):  # NumPy code: no gradient
    return np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2, axis=-1)


def mean_abs(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


class SampleCount(keras.metrics.Metric):
    """Counts the samples seen since the last reset (a stateful metric)."""

    def __init__(self, name="sample_count", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign(self.count.value + float(y_pred.shape[0]))

    def result(self):
        return self.count.value


class MaxError(keras.metrics.Metric):
    """The largest absolute error so far (not a mean: only update_state/result give it)."""

    def __init__(self, name="max_error", **kwargs):
        super().__init__(name=name, **kwargs)
        self.worst = self.add_weight(shape=(), initializer="zeros", name="worst")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.worst.assign(ops.maximum(self.worst.value, ops.max(ops.abs(y_true - y_pred))))

    def result(self):
        return self.worst.value


def _data(n=48):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = rng.normal(size=(n, 2)).astype("float32")
    return x, y


def _model(loss, **kwargs):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([layers.Input((4,)), layers.Dense(6, "tanh"), layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss=loss, **kwargs)
    return model


def _fit(model, **kwargs):
    x, y = _data()
    return model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, **kwargs)


@pytest.mark.parametrize("loss", [my_mse, MyMSE()], ids=["function", "subclass"])
def test_custom_loss_trains_like_the_builtin_one(backend_name, loss):
    custom, builtin = _model(loss), _model("mse")
    history_custom, history_builtin = _fit(custom), _fit(builtin)
    assert isinstance(custom._step, TapeStep) and type(builtin._step) is Step
    np.testing.assert_allclose(
        history_custom.history["loss"], history_builtin.history["loss"], rtol=1e-5
    )
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_custom_loss_with_sample_weights_matches_the_builtin_one():
    x, y = _data()
    weights = np.linspace(0.1, 2.0, len(x)).astype("float32")
    custom, builtin = _model(my_mse), _model("mse")
    kwargs = dict(sample_weight=weights, batch_size=16, epochs=2, shuffle=False, verbose=0)
    a, b = custom.fit(x, y, **kwargs), builtin.fit(x, y, **kwargs)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)


def test_loss_subclass_reduction_sum_is_honoured():
    x, y = _data()
    model = _model(MyMSE(reduction="sum"))
    logged = model.evaluate(x, y, batch_size=len(x), verbose=0)
    predicted = model.predict(x, verbose=0)
    np.testing.assert_allclose(logged, np.sum(np.mean((y - predicted) ** 2, axis=-1)), rtol=1e-5)


@pytest.mark.numpy_only("a NumPy-written loss fails earlier on CuPy, at the host conversion")
def test_a_loss_without_a_gradient_says_to_use_ops():
    model = _model(host_mse)
    with pytest.raises(TypeError, match=r"Loss 'host_mse'.*gpukeras\.ops"):
        _fit(model)


def test_plain_function_metric_is_logged(backend_name):
    x, y = _data()
    model = _model("mse", metrics=[mean_abs])
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    np.testing.assert_allclose(logs["mean_abs"], np.mean(np.abs(y - predicted)), rtol=1e-5)


def test_metric_subclass_is_updated_every_batch_and_reset_every_epoch(backend_name):
    x, y = _data()
    model = _model("mse", metrics=[SampleCount()])
    history = _fit(model, validation_data=(x[:10], y[:10]))
    assert history.history["sample_count"] == [48.0, 48.0, 48.0]
    assert history.history["val_sample_count"] == [10.0, 10.0, 10.0]
    assert model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)["sample_count"] == 48


def test_metric_subclass_result_is_not_averaged():
    x, y = _data()
    model = _model(my_mse, metrics=[MaxError()])
    logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    np.testing.assert_allclose(logs["max_error"], np.max(np.abs(y - predicted)), rtol=1e-6)


def test_batch_logs_of_a_metric_subclass_are_its_running_result():
    x, y = _data()
    model = _model("mse", metrics=[SampleCount()])
    seen = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(logs["sample_count"])
    )
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[spy])
    assert seen == [16.0, 32.0, 48.0]


def test_custom_loss_and_metrics_keep_one_host_sync_per_epoch():
    x, y = _data()
    model = _model(my_mse, metrics=[mean_abs, SampleCount()])
    model.fit(x, y, epochs=1, verbose=0)
    before = K.host_syncs()
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert K.host_syncs() - before == 3


def test_metric_variables_are_listed_and_reset_state_zeroes_them():
    metric = SampleCount()
    assert [v.name for v in metric.variables] == ["count"]
    metric.update_state(np.zeros((3, 1)), np.zeros((3, 1), "float32"))
    assert float(K.to_host(metric.result())) == 3.0
    metric.reset_state()
    assert float(K.to_host(metric.result())) == 0.0


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize(
    "loss, custom", [(my_mse, {"my_mse": my_mse}), (MyMSE(), {"MyMSE": MyMSE})], ids=["fn", "cls"]
)
def test_a_custom_loss_is_saved_by_name_and_compiled_again_from_custom_objects(
    tmp_path, suffix, loss, custom
):
    x, y = _data()
    model = _model(loss)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    with pytest.warns(UserWarning, match="returned uncompiled"):
        assert not keras.saving.load_model(path).compiled
    loaded = keras.saving.load_model(path, custom_objects=custom)
    assert loaded.compiled
    np.testing.assert_allclose(
        loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6
    )


class BinaryTruePositives(keras.metrics.Metric):
    """The Keras guide's metric: assign_add into a state variable, result() returns it."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits = ops.logical_and(ops.cast(y_true, "bool"), ops.greater(y_pred, 0.5))
        values = ops.cast(hits, self.dtype)
        if sample_weight is not None:
            values = values * ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1))
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives


def test_keras_guide_metric_with_assign_add_as_metric_and_weighted_metric():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([layers.Input((3,)), layers.Dense(1, "sigmoid")])
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=[BinaryTruePositives()],
        weighted_metrics=[BinaryTruePositives(name="weighted_tp")],
    )
    weights = np.full(40, 2.0, "float32")
    model.fit(x, y, sample_weight=weights, batch_size=8, epochs=1, verbose=0)
    logs = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    hits = float(np.sum((model.predict(x, verbose=0) > 0.5) & (y == 1)))
    assert logs["binary_true_positives"] == hits and logs["weighted_tp"] == 2 * hits
