"""Regression tests for bugs found in the core-engine review (one test per finding)."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import mixed_precision
from gpukeras.callbacks import Callback
from gpukeras.layers import Dense, Dropout, Input


def _model(features=3, classes=2):
    model = keras.Sequential(
        [Input((features,)), Dense(4, activation="relu"), Dense(classes, activation="softmax")]
    )
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


def _data(n=10, features=3, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]


def test_dropout_trains_under_mixed_float16(xp):
    # The generators draw only float32/float64; float16 inputs used to raise TypeError.
    mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = Dropout(0.5)
        x = xp.ones((64, 8), dtype="float16")
        y = layer(x, training=True)
        assert y.dtype == np.float16
        kept = K.to_host(y != 0)
        assert 0 < kept.mean() < 1
        np.testing.assert_array_equal(K.to_host(y)[kept], 2.0)
    finally:
        mixed_precision.set_global_policy(None)


def test_validation_split_rounds_the_training_part_down_like_keras(xp):
    # Keras 3: split_at = floor(n * (1 - validation_split)); 10 * 0.75 -> 7 train, 3 held out.
    x, y = _data(n=10)
    history = _model().fit(x, y, validation_split=0.25, epochs=1, verbose=0)
    assert history.params["samples"] == 7


def test_bad_validation_batch_size_is_refused_before_any_training(xp):
    x, y = _data()
    model = _model()
    before = model.get_weights()
    epochs_run = []

    class Record(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs_run.append(epoch)

    with pytest.raises(ValueError, match=r"Received: validation_batch_size=-1"):
        model.fit(
            x,
            y,
            validation_data=(x, y),
            validation_batch_size=-1,
            verbose=0,
            callbacks=[Record()],
        )
    assert epochs_run == []
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_predict_and_evaluate_stop_at_the_end_of_array_data(xp):
    # More steps than batches: Keras stops when the data runs out (with a warning);
    # predict must not return repeated rows, evaluate must not count samples twice.
    x, y = _data(n=10)
    model = _model()
    with pytest.warns(UserWarning, match="ran out of data"):
        out = model.predict(x, batch_size=5, steps=3, verbose=0)
    assert out.shape == (10, 2)
    expected = model.evaluate(x, y, batch_size=4, verbose=0)
    with pytest.warns(UserWarning, match="ran out of data"):
        got = model.evaluate(x, y, batch_size=4, steps=5, verbose=0)
    assert got == pytest.approx(expected, rel=1e-6)


class _FakeDeviceArray:
    """Stands in for a CuPy array: a host array cannot be indexed with it (no __array__)."""

    __module__ = "cupy._review_fake"

    def __init__(self, values):
        self._values = np.asarray(values)

    def get(self):
        return self._values

    def __getitem__(self, index):
        return _FakeDeviceArray(self._values[index])

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed")

    @property
    def shape(self):
        return self._values.shape


def test_shuffled_fit_on_host_resident_data_indexes_with_a_host_order(monkeypatch):
    # Data too large for the GPU stays on the host; the shuffle order is drawn on the
    # device. Indexing host arrays with a device order fails on CuPy.
    K.set_backend("numpy")
    monkeypatch.setattr(K, "device_can_hold", lambda nbytes: False)
    monkeypatch.setattr(
        K.random, "permutation", lambda n: _FakeDeviceArray(np.random.permutation(n))
    )
    x, y = _data(n=12)
    history = _model().fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=True)
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize("bad", [["a"], [1.5], [0]])
def test_validation_freq_lists_must_hold_positive_ints(bad):
    x, y = _data()
    with pytest.raises(ValueError, match=r"Received: validation_freq="):
        _model().fit(x, y, validation_data=(x, y), validation_freq=bad, verbose=0)


def test_two_input_shape_arguments_are_named_in_the_error():
    with pytest.raises(TypeError, match=r"Received: input_shape=\(3,\), input_dim=3"):
        Dense(2, input_shape=(3,), input_dim=3)


def test_class_weight_keys_must_be_class_indices():
    import gpukeras as keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = np.ones((4, 2), "float32"), np.eye(2, dtype="float32")[[0, 1, 0, 1]]
    with pytest.raises(ValueError, match="class_weight` keys must be class indices"):
        model.fit(x, y, class_weight={-1: 1.0, 0: 1.0, 1: 1.0}, verbose=0)


def test_reshape_accepts_numpy_ints():
    from gpukeras import layers

    assert layers.Reshape((np.int64(2), -1)).compute_output_shape((None, 6)) == (None, 2, 3)


def test_first_layer_input_gradient_is_restored_when_backward_raises():
    import gpukeras as keras

    class Broken(keras.layers.Layer):
        def forward(self, x, training=False):
            return x

        def backward(self, grad):
            raise RuntimeError("broken backward")

    first = keras.layers.Dense(2)
    model = keras.Sequential([keras.Input((2,)), first, Broken()])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(RuntimeError, match="broken backward"):
        model.train_on_batch(np.ones((2, 2), "float32"), np.ones((2, 2), "float32"))
    assert first.needs_input_grad
