"""Behaviours Keras 3's callback tests pin down (issue 16): ``monitor_op`` is Keras's
``ops.greater``/``ops.less`` with the direction a metric declares, ``Layer.add_variable``, and
building a subclassed model leaves its state variables untouched."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import callbacks, layers, metrics, models, ops


def _compiled(metric_list):
    model = keras.Sequential([layers.Input((5,)), layers.Dense(1, activation="relu")])
    model.compile("adam", "mae", metrics=metric_list)
    return model


@pytest.mark.parametrize(
    "mode, monitor, expected",
    [
        ("max", "val_mse", ops.greater),
        ("min", "val_loss", ops.less),
        ("auto", "val_mse", ops.less),
        ("auto", "acc", ops.greater),
        ("auto", "f1_score", ops.greater),  # F1Score declares _direction 'up'
        ("auto", "val_auc", ops.greater),
        ("auto", "precision", ops.greater),
        ("auto", "mean_io_u", ops.greater),
    ],
)
def test_monitor_op_is_keras_comparison_for_the_metric_direction(mode, monitor, expected):
    model = _compiled(
        ["mse", "acc", metrics.F1Score(), metrics.AUC(), "precision", metrics.MeanIoU(2)]
    )
    x, y = np.random.random((10, 5)), np.random.random((10, 1))
    model.fit(x, y, batch_size=5, validation_data=(x, y), epochs=1, verbose=0)
    callback = callbacks.MonitorCallback(monitor, mode)
    callback.set_model(model)
    callback._set_monitor_op()
    assert callback.monitor_op is expected


def test_early_stopping_still_compares_host_floats_without_device_reads():
    stopper = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=0.5)
    stopper.set_model(_compiled([]))
    stopper.on_train_begin()
    stopper.on_epoch_end(0, {"loss": 1.0})
    stopper.on_epoch_end(1, {"loss": 0.6})  # improves by less than min_delta
    assert stopper.model.stop_training and stopper.monitor_op is ops.less


def test_add_variable_is_add_weight_in_keras_3_order():
    layer = layers.Dense(2)
    counter = layer.add_variable((), "zeros", "int32", False, name="count")
    assert counter.shape == () and counter.dtype == np.int32 and not counter.trainable
    assert layer.add_variable(shape=(3,), initializer="ones").trainable


class _CountingModel(models.Model):
    def __init__(self):
        super().__init__()
        self.calls = self.add_variable(shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        self.calls.assign(self.calls + 1)
        return inputs


def test_building_a_subclassed_model_does_not_count_as_a_call():
    seen = []

    class Record(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(int(self.model.calls))

    model = _CountingModel()
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.random((8, 1)).astype(np.float32)
    model.fit(x, x, callbacks=[Record()], batch_size=2, verbose=0)
    assert seen == [1, 2, 3, 4]
