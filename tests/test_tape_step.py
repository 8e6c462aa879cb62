"""The general (tape) training step keeps the fused step's contracts: loss scaling as the
backward seed, exact resume with BackupAndRestore, data-parallel training."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import autodiff, callbacks, layers, mixed_precision, ops
from gpukeras.models._tape_step import TapeStep
from tests.distributed_job import crossentropy, make_data, make_model
from tests.test_distributed import job_weights, needs_mpiexec, run_job


class Scale(layers.Layer):
    """``inputs * w`` with a trainable per-feature scale."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, inputs, training=None):
        return inputs * self.w


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 100)]
    return x, y


def _build(optimizer="adam"):
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            layers.Input((8,)),
            Scale(),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizer, loss=crossentropy, metrics=["accuracy"])
    return model


def _fit(model, callback_list=(), epochs=4):
    x, y = _data()
    return model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=list(callback_list))


# -- loss scaling ----------
def test_loss_scale_is_the_backward_seed_and_is_divided_out():
    plain = _build(keras.optimizers.SGD(0.1))
    _fit(plain, epochs=1)
    scaled = _build(mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1), 2.0**12))
    seen = []
    inner_apply = scaled.optimizer.inner_optimizer.apply

    def spy(grads, variables=None):
        seen.append(float(np.abs(keras.backend.to_host(variables[0].grad)).max()))
        return inner_apply(grads, variables)

    scaled.optimizer.inner_optimizer.apply = spy
    _fit(scaled, epochs=1)
    assert isinstance(scaled._step, TapeStep)
    for a, b in zip(plain.get_weights(), scaled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert seen and all(np.isfinite(seen))


def test_a_call_layer_trains_under_mixed_float16():
    mixed_precision.set_global_policy("mixed_float16")
    try:
        model = _build(keras.optimizers.SGD(0.05))
        assert isinstance(model.optimizer, mixed_precision.LossScaleOptimizer)
        assert model.layers[0].compute_dtype == "float16"
        history = _fit(model, epochs=3)
    finally:
        mixed_precision.set_global_policy(None)
    assert all(np.isfinite(history.history["loss"]))
    assert model.layers[0].w.value.dtype == np.float32
    assert history.history["loss"][-1] < history.history["loss"][0]


# -- exact resume ----------
class Crash(callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.current, batch) == (self.epoch, self.batch):
            raise RuntimeError("simulated crash")


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
@pytest.mark.parametrize("save_freq", [5, "epoch"])
def test_backup_and_restore_resumes_the_tape_step_bit_identically(tmp_path, save_freq):
    reference = _build()
    expected = _fit(reference).history
    backup = str(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="simulated crash"):
        _fit(_build(), [callbacks.BackupAndRestore(backup, save_freq), Crash(2, 6)])
    model = _build()
    history = _fit(model, [callbacks.BackupAndRestore(backup, save_freq)])
    assert history.epoch == [2, 3]
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history.history["loss"] == expected["loss"][2:]


class MeanConfidence(keras.metrics.Metric):
    """The mean top probability so far: not a sum over batches, so a resumed epoch is right
    only if the metric's state is restored with it."""

    def __init__(self, name="confidence", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(ops.sum(ops.max(y_pred, axis=-1)))
        self.count.assign_add(float(y_pred.shape[0]))

    def result(self):
        return self.total.value / self.count.value


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
def test_backup_and_restore_keeps_a_stateful_metric_mid_epoch(tmp_path):
    def build():
        model = _build()
        model.compile(optimizer="adam", loss=crossentropy, metrics=[MeanConfidence()])
        return model

    expected = _fit(build()).history["confidence"]
    backup = str(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="simulated crash"):
        _fit(build(), [callbacks.BackupAndRestore(backup, 5), Crash(2, 6)])
    history = _fit(build(), [callbacks.BackupAndRestore(backup, 5)])
    assert history.epoch == [2, 3]
    np.testing.assert_allclose(history.history["confidence"], expected[2:], rtol=1e-12)


# -- the optimizer's Keras 3 entry points with tape gradients ---------------------------------
def test_tape_gradients_feed_apply_and_apply_gradients_alike():
    results = []
    for use_pairs in (False, True):
        keras.utils.set_random_seed(2)
        layer = layers.Dense(3)
        x = np.ones((4, 5), "float32")
        layer(x)
        initial = layer.get_weights()
        optimizer = keras.optimizers.Adam(0.1)
        for _ in range(2):
            with autodiff.GradientTape() as tape:
                loss = ops.sum(ops.square(layer(x)))
            grads = tape.gradient(loss, layer.trainable_weights)
            if use_pairs:
                optimizer.apply_gradients(zip(grads, layer.trainable_weights))
            else:
                optimizer.apply(grads, layer.trainable_weights)
        results.append(layer.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(results[0][0], initial[0])


# -- data-parallel ----------
@needs_mpiexec
def test_two_ranks_train_a_call_layer_and_custom_loss_like_one_process(tmp_path):
    code, output, _ = run_job(
        tmp_path, "--custom", "--samples", "51", "--batch-size", "8", "--epochs", "3"
    )
    assert code == 0, output
    rank0, loss0 = job_weights(tmp_path / "result_rank0.npz")
    rank1, loss1 = job_weights(tmp_path / "result_rank1.npz")
    keras.utils.set_random_seed(7)
    x, y = make_data(51)
    model = make_model(8, keras.optimizers.Adam(0.01), custom=True)
    model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert isinstance(model._step, TapeStep)
    for single, a, b in zip(model.get_weights(), rank0, rank1):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, single, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(loss0, loss1)


# -- output masks ----------------------------------------------------------------------------
class Identity(layers.Layer):
    supports_masking = True

    def call(self, inputs):
        return inputs * 1.0


@pytest.mark.parametrize("loss", ["mse", crossentropy], ids=["builtin_loss", "custom_loss"])
def test_a_masked_sequence_model_trains_on_the_tape_like_the_fused_step(loss):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 9, size=(24, 6))
    ids[:, 4:] = 0  # padding the mask hides
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=(24, 6))]
    results = []
    for with_call_layer in (False, True):
        keras.utils.set_random_seed(4)
        stack = [
            layers.Input((6,)),
            layers.Embedding(9, 4, mask_zero=True),
            layers.LSTM(5, return_sequences=True),
            *([Identity()] if with_call_layer else []),
            layers.Dense(3, activation="softmax"),
        ]
        model = keras.Sequential(stack)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
        history = model.fit(ids, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        results.append((history.history["loss"], model.get_weights(), model._step))
    (fused_loss, fused_weights, fused), (tape_loss, tape_weights, tape) = results
    assert isinstance(tape, TapeStep) and tape.masked
    if loss == "mse":
        assert not isinstance(fused, TapeStep)
    np.testing.assert_allclose(tape_loss, fused_loss, rtol=1e-5)
    for a, b in zip(fused_weights, tape_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
