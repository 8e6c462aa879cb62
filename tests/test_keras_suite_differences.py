"""Behaviours Keras 3.15's own callback/optimizer tests pin down where gpukeras used to differ
(issue 16; tests/keras_suite runs those Keras tests themselves)."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import callbacks, layers, optimizers
from gpukeras.mixed_precision import LossScaleOptimizer


class _LogRecorder(callbacks.Callback):
    """Calls ``logs.keys()`` in every hook, as the keras.io callbacks guide's example does."""

    def __init__(self):
        super().__init__()
        self.seen = {}

    def _record(self, hook, logs):
        self.seen.setdefault(hook, sorted(logs.keys()))

    def on_train_begin(self, logs=None):
        self._record("on_train_begin", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._record("on_epoch_begin", logs)

    def on_test_begin(self, logs=None):
        self._record("on_test_begin", logs)

    def on_predict_begin(self, logs=None):
        self._record("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._record("on_predict_end", logs)


def _dense_model(units=1):
    model = keras.Sequential([layers.Input((3,)), layers.Dense(units)])
    model.compile("sgd", "mse")
    return model


def test_hooks_without_logs_receive_an_empty_dict():
    recorder = _LogRecorder()
    model = _dense_model()
    x, y = np.ones((4, 3), np.float32), np.ones((4, 1), np.float32)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[recorder])
    model.evaluate(x, y, verbose=0, callbacks=[recorder])
    model.predict(x, verbose=0, callbacks=[recorder])
    for hook in ("on_train_begin", "on_epoch_begin", "on_test_begin", "on_predict_begin"):
        assert recorder.seen[hook] == [], hook
    assert "on_predict_end" in recorder.seen


@pytest.mark.parametrize("backup_dir", ["", None])
def test_empty_backup_dir_is_refused_in_keras_words(backup_dir):
    with pytest.raises(ValueError, match="Empty `backup_dir` argument passed"):
        callbacks.BackupAndRestore(backup_dir=backup_dir)


@pytest.mark.parametrize("momentum", [-1.0, 1.5, "0.5"])
def test_momentum_out_of_range_is_refused_in_keras_words(momentum):
    with pytest.raises(ValueError, match=r"`momentum` must be a float between \[0, 1\]\."):
        optimizers.SGD(momentum=momentum)


@pytest.mark.parametrize(
    "argument, value",
    [
        ("clipnorm", 0.5),
        ("clipvalue", 1.0),
        ("global_clipnorm", 1.0),
        ("weight_decay", 0.1),
        ("use_ema", True),
        ("ema_momentum", 0.5),
        ("ema_overwrite_frequency", 3),
        ("loss_scale_factor", 4.0),
        ("gradient_accumulation_steps", 2),
    ],
)
def test_loss_scale_optimizer_refuses_inner_only_arguments(argument, value):
    with pytest.raises(ValueError, match=f"set `{argument}` on the `inner_optimizer`"):
        LossScaleOptimizer(optimizers.SGD(), **{argument: value})


def test_loss_scale_optimizer_names_unknown_arguments_in_order():
    with pytest.raises(ValueError, match="does not support arguments: `foo`, `bar`"):
        LossScaleOptimizer(optimizers.SGD(), foo=True, bar=3)


def test_loss_scale_optimizer_accepts_the_defaults_old_configs_carry():
    optimizer = LossScaleOptimizer(
        optimizers.SGD(), clipnorm=None, use_ema=False, ema_momentum=0.99, weight_decay=None
    )
    assert optimizer.inner_optimizer.clipnorm is None


def test_targets_with_a_size_one_axis_broadcast_against_the_output():
    model = _dense_model(units=2)
    x = np.ones((1, 3), np.float32)
    history = model.fit(x, np.ones((1, 1), np.float32), epochs=1, verbose=0)
    reference = _dense_model(units=2)
    reference.set_weights(model.get_weights())
    expected = reference.evaluate(x, np.ones((1, 2), np.float32), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    np.testing.assert_allclose(model.evaluate(x, np.ones((1, 1), np.float32), verbose=0), expected)


def test_targets_that_do_not_broadcast_are_still_refused():
    model = _dense_model(units=3)
    with pytest.raises(ValueError, match="y has 2 columns/classes, the model outputs 3"):
        model.fit(np.ones((2, 3), np.float32), np.ones((2, 2), np.float32), verbose=0)


def test_scalar_weights_stay_zero_dimensional():
    class Counter(layers.Layer):
        def build(self, input_shape):
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False)

    layer = Counter()
    layer.build((None, 1))
    assert layer.count.shape == ()
    layer.count.assign_add(1.0)
    assert int(layer.count.value) == 1
