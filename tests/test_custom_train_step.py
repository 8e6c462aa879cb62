"""Overriding train_step, test_step, predict_step and compute_loss, as in Keras 3's guide
"Customizing what happens in fit()"."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import layers, ops

RNG = np.random.default_rng(5)
X = RNG.normal(size=(48, 4)).astype("float32")
Y = RNG.normal(size=(48, 2)).astype("float32")
FIT = {"batch_size": 8, "epochs": 3, "shuffle": False, "verbose": 0}


class Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(8, activation="tanh")
        self.out = layers.Dense(2)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


class GuideTapeStep(Net):
    """The guide's TensorFlow/PyTorch flavour."""

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class GuideValueAndGradStep(Net):
    """The same step with value_and_grad, returning compute_metrics' dict."""

    def train_step(self, data):
        x, y = data

        def loss_fn(_variables):
            y_pred = self(x, training=True)
            return self.compute_loss(x=x, y=y, y_pred=y_pred), y_pred

        variables = self.trainable_variables
        (loss, y_pred), grads = keras.value_and_grad(loss_fn, has_aux=True)(variables)
        self.optimizer.apply(grads, variables)
        self.metrics[0].update_state(loss)
        return self.compute_metrics(x, y, y_pred)


class SuperStep(Net):
    def train_step(self, data):
        return super().train_step(data)


def _trained(cls, **compile_args):
    keras.utils.set_random_seed(4)
    model = cls()
    model(X[:1])
    model.set_weights(
        [w * 0 + np.float32(0.1) * (i + 1) for i, w in enumerate(model.get_weights())]
    )
    model.compile(**{"optimizer": "adam", "loss": "mse", "metrics": ["mae"], **compile_args})
    return model, model.fit(X, Y, **FIT).history


@pytest.mark.parametrize("cls", [GuideTapeStep, GuideValueAndGradStep, SuperStep])
def test_the_guides_custom_steps_train_as_the_built_in_step(xp, cls):
    reference, expected = _trained(Net)
    model, history = _trained(cls)
    assert sorted(history) == ["loss", "mae"]
    for key in ("loss", "mae"):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-5, err_msg=key)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_custom_step_reads_the_device_once_per_epoch():
    model, _ = _trained(GuideTapeStep)
    before = K.host_syncs()
    model.fit(X, Y, **{**FIT, "epochs": 2})
    assert K.host_syncs() - before == 2


def test_metrics_are_the_loss_tracker_the_compiled_metrics_then_metric_attributes():
    model = Net()
    model.extra = keras.metrics.Mean(name="extra")
    assert [m.name for m in model.metrics] == ["extra"]
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics", "extra"]
    assert model.metrics_names == ["loss", "compile_metrics", "extra"]


class OwnLoss(Net):
    """The guide's compute_loss override with its own tracker (compiled without a loss)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = ops.mean(ops.square(y_pred - y)) * 2.0
        self.loss_tracker.update_state(loss)
        return loss

    def reset_metrics(self):
        self.loss_tracker.reset_state()

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        return super().train_step(data)


def test_a_compute_loss_override_drives_the_default_step(xp):
    keras.utils.set_random_seed(4)
    model = OwnLoss()
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    history = model.fit(X, Y, **FIT).history
    assert list(history) == ["loss"]
    assert history["loss"][-1] < history["loss"][0]
    y_pred = model.predict(X, verbose=0)
    model.reset_metrics()
    assert model.evaluate(X, Y, verbose=0, batch_size=48) == pytest.approx(
        float(np.mean((y_pred - Y) ** 2) * 2.0), rel=1e-5
    )


class CustomEval(Net):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mae_tracker = keras.metrics.Mean(name="mae")

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.mae_tracker.update_state(ops.mean(ops.abs(y_pred - y), axis=-1))
        return {"mae": self.mae_tracker.result(), "constant": ops.ones(()) * 2.0}


def test_a_test_step_override_drives_evaluate_and_validation(xp):
    model = CustomEval()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(X, Y, validation_data=(X[:16], Y[:16]), **{**FIT, "epochs": 1}).history
    assert sorted(history) == ["loss", "mae", "val_constant", "val_mae"]
    expected = float(np.mean(np.abs(K.to_host(model(X[:16])) - Y[:16])))
    assert history["val_mae"][0] == pytest.approx(expected, rel=1e-5)
    assert history["val_constant"] == [2.0]
    assert model.evaluate(X[:16], Y[:16], verbose=0) == [pytest.approx(expected, rel=1e-5), 2.0]
    assert sorted(model.evaluate(X, Y, verbose=0, return_dict=True)) == ["constant", "mae"]


def test_a_predict_step_override_drives_predict(xp):
    class Sevens(Net):
        def predict_step(self, data):
            return self(data, training=False) * 0.0 + 7.0

    np.testing.assert_array_equal(Sevens().predict(X[:5], verbose=0), np.full((5, 2), 7.0))


def test_a_step_that_returns_no_dict_or_changes_its_keys_is_refused():
    class NoDict(Net):
        def train_step(self, data):
            return 1.0

    class Shifting(Net):
        def train_step(self, data):
            self.calls = getattr(self, "calls", 0) + 1
            return {f"k{self.calls}": ops.ones(())}

    for cls, error, match in [
        (NoDict, TypeError, "must return a dict"),
        (Shifting, ValueError, "same keys at every step"),
    ]:
        model = cls()
        model.compile(optimizer="sgd")
        with pytest.raises(error, match=match):
            model.fit(X, Y, **FIT)


def test_sample_weights_reach_a_custom_step_as_the_third_item():
    seen = []

    class Weighted(Net):
        def train_step(self, data):
            seen.append(len(data))
            return super().train_step(data)

    model = Weighted()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, sample_weight=np.ones(48, "float32"), **{**FIT, "epochs": 1})
    assert set(seen) == {3}


def test_unpack_and_pack_x_y_sample_weight_follow_keras():
    unpack, pack = keras.utils.unpack_x_y_sample_weight, keras.utils.pack_x_y_sample_weight
    assert unpack("x") == ("x", None, None) and unpack(("x",)) == ("x", None, None)
    assert unpack(["x", "y"]) == ("x", "y", None) and unpack(("x", "y", "w")) == ("x", "y", "w")
    assert (
        pack("x") == "x"
        and pack("x", "y") == ("x", "y")
        and pack("x", "y", "w")
        == (
            "x",
            "y",
            "w",
        )
    )
    with pytest.raises(ValueError, match="Received: a tuple of 4 items"):
        unpack((1, 2, 3, 4))


def test_a_sequential_subclass_may_override_train_step_and_keeps_the_fused_step_otherwise():
    from gpukeras.models._custom_step import CustomStep
    from gpukeras.models._step import Step

    class CountingSequential(keras.Sequential):
        def train_step(self, data):
            self.steps_run = getattr(self, "steps_run", 0) + 1
            return super().train_step(data)

    def stack(cls):
        keras.utils.set_random_seed(4)
        model = cls([keras.Input((4,)), layers.Dense(8, activation="tanh"), layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        return model, model.fit(X, Y, **FIT).history

    custom, custom_history = stack(CountingSequential)
    plain, plain_history = stack(keras.Sequential)
    assert isinstance(custom._step, CustomStep) and custom.steps_run == 18
    assert type(plain._step) is Step  # the fused step, untouched
    np.testing.assert_allclose(custom_history["loss"], plain_history["loss"], rtol=1e-5)


def test_compiled_pieces_before_compile_say_to_compile():
    model = Net()
    with pytest.raises(RuntimeError, match="compiled_metrics exists once the model is compiled"):
        getattr(model, "compiled_metrics")  # noqa: B009 - the property raises
    with pytest.raises(RuntimeError, match="the compiled loss exists once"):
        model.compiled_loss(Y[:2], Y[:2])


def test_self_losses_in_a_compute_loss_override_trains_the_regularizers_as_the_default():
    class Regularized(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(8, activation="tanh", kernel_regularizer="l2")
            self.out = layers.Dense(2)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    class OwnSum(Regularized):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return ops.mean(ops.square(y_pred - y)) + ops.sum(ops.stack(self.losses))

    def trained(cls):
        keras.utils.set_random_seed(4)
        model = cls()
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        return model, model.fit(X, Y, **FIT).history

    reference, expected = trained(Regularized)
    model, history = trained(OwnSum)
    assert len(model.losses) == 1  # the kernel's penalty
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-5)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
