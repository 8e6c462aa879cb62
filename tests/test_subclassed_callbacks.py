"""Callbacks, mixed precision and data-parallel optimizers with subclassed models."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import callbacks, layers, mixed_precision
from tests.distributed_job import make_data, make_model
from tests.test_distributed import job_weights, needs_mpiexec, run_job

RNG = np.random.default_rng(9)
X = RNG.normal(size=(60, 6)).astype("float32")
Y = np.eye(3, dtype="float32")[RNG.integers(0, 3, 60)]


class Classifier(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(12, activation="relu")
        self.drop = layers.Dropout(0.3)
        self.out = layers.Dense(3, activation="softmax")

    def call(self, inputs, training=None):
        return self.out(self.drop(self.hidden(inputs), training=training))


class TapeStepClassifier(Classifier):
    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            scaled = self.optimizer.scale_loss(loss)
        with np.errstate(over="ignore", invalid="ignore"):  # float16 overflow: step skipped
            grads = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.metrics[0].update_state(loss)
        return self.compute_metrics(x, y, y_pred)


def _build(cls=Classifier):
    keras.utils.set_random_seed(11)
    model = cls()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit(model, callback_list=(), epochs=3):
    return model.fit(
        X, Y, batch_size=8, epochs=epochs, shuffle=True, verbose=0, callbacks=list(callback_list)
    )


class Crash(callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise RuntimeError("simulated crash")


def test_model_checkpoint_saves_weights_that_load_into_a_fresh_model(tmp_path):
    path = tmp_path / "best.weights.h5"
    model = _build()
    _fit(model, [callbacks.ModelCheckpoint(str(path), save_weights_only=True)])
    fresh = _build()
    fresh(X[:1])
    fresh.load_weights(path)
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
@pytest.mark.parametrize("cls", [Classifier, TapeStepClassifier])
@pytest.mark.parametrize("save_freq, crash_at", [(4, (1, 5)), ("epoch", (2, 3))])
def test_backup_and_restore_resumes_bit_identically(tmp_path, cls, save_freq, crash_at):
    whole = _build(cls)
    _fit(whole)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _fit(_build(cls), [callbacks.BackupAndRestore(str(tmp_path), save_freq), Crash(*crash_at)])
    resumed = _build(cls)
    _fit(resumed, [callbacks.BackupAndRestore(str(tmp_path), save_freq)])
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


class ConstantLogStep(Classifier):
    """A custom step whose logged metric is 1.0 after any number of batches."""

    def train_step(self, data):
        logs = super().train_step(data)
        self.ones.update_state(keras.ops.ones((4,)))
        return {**logs, "ones": self.ones.result()}


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
def test_a_resumed_epochs_custom_step_logs_restart_at_the_resumed_batch(tmp_path):
    def build():
        model = _build(ConstantLogStep)
        model.ones = keras.metrics.Mean(name="ones")
        return model

    whole = build()
    expected = _fit(whole).history
    with pytest.raises(RuntimeError, match="simulated crash"):
        _fit(build(), [callbacks.BackupAndRestore(str(tmp_path), 4), Crash(1, 5)])
    resumed = build()
    history = _fit(resumed, [callbacks.BackupAndRestore(str(tmp_path), 4)]).history
    assert history["ones"] == [1.0, 1.0]  # epochs 1 (resumed in mid-epoch) and 2
    assert history["loss"][1] == pytest.approx(expected["loss"][2], rel=1e-6)  # epoch 2
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


class BatchCount(keras.metrics.Metric):
    """Batches seen since the last reset, in an ``add_variable`` state (kept by backups)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.count = self.add_variable(name="count")

    def update_state(self, *args, **kwargs):
        self.count.assign_add(1.0)

    def result(self):
        return self.count.value


class CountingStep(Classifier):
    def train_step(self, data):
        logs = super().train_step(data)
        self.batches.update_state()
        return {**logs, "batches": self.batches.result()}


def test_a_resumed_epoch_goes_on_from_metric_state_kept_in_variables(tmp_path):
    def build():
        model = _build(CountingStep)
        model.batches = BatchCount(name="batches")
        return model

    assert _fit(build()).history["batches"] == [8.0, 8.0, 8.0]  # 60 samples, batch 8
    with pytest.raises(RuntimeError, match="simulated crash"):
        _fit(build(), [callbacks.BackupAndRestore(str(tmp_path), 4), Crash(1, 5)])
    history = _fit(build(), [callbacks.BackupAndRestore(str(tmp_path), 4)]).history
    assert history["batches"] == [8.0, 8.0]  # epoch 1 resumed after its 4th batch, then 2


@pytest.fixture
def mixed_policy():
    previous = mixed_precision.global_policy()
    mixed_precision.set_global_policy("mixed_float16")
    yield
    mixed_precision.set_global_policy(previous)


@pytest.mark.parametrize("cls", [Classifier, TapeStepClassifier])
def test_mixed_float16_trains_with_a_loss_scale_and_float32_weights(mixed_policy, cls):
    model = _build(cls)
    assert isinstance(model.optimizer, mixed_precision.LossScaleOptimizer)
    history = _fit(model, epochs=4).history
    assert all(np.isfinite(history["loss"])) and history["loss"][-1] < history["loss"][0]
    assert {w.dtype for w in model.get_weights()} == {np.dtype("float32")}
    assert model.hidden.compute_dtype == "float16"


def test_mixed_float16_gives_the_float32_result_within_half_precision(mixed_policy):
    half = _build()
    half(X[:1])
    mixed_precision.set_global_policy("float32")
    full = _build()
    full(X[:1])
    full.set_weights(half.get_weights())
    a = _fit(half, epochs=2).history["loss"]
    keras.utils.set_random_seed(11)
    b = _fit(full, epochs=2).history["loss"]
    np.testing.assert_allclose(a, b, rtol=2e-2)


def test_distributed_optimizer_in_one_process_trains_as_the_plain_optimizer():
    from gpukeras import distributed

    plain = _build()
    plain(X[:1])
    keras.utils.set_random_seed(11)
    wrapped = Classifier()
    wrapped.compile(
        optimizer=distributed.DistributedOptimizer(keras.optimizers.Adam()),
        loss="categorical_crossentropy",
    )
    wrapped(X[:1])
    wrapped.set_weights(plain.get_weights())
    keras.utils.set_random_seed(3)
    a = _fit(plain).history["loss"]
    keras.utils.set_random_seed(3)
    b = _fit(wrapped).history["loss"]
    np.testing.assert_allclose(a, b, rtol=1e-6)
    for u, v in zip(plain.get_weights(), wrapped.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


@needs_mpiexec
@pytest.mark.parametrize("own_step", [False, True], ids=["default step", "own train_step"])
def test_two_ranks_train_a_subclassed_model_as_one_process_with_twice_the_batch(tmp_path, own_step):
    options = ["--subclassed", "--samples", "48", "--epochs", "3"]
    code, output, _ = run_job(tmp_path, *options, *(["--own-step"] if own_step else []))
    assert code == 0, output
    rank0, loss0 = job_weights(tmp_path / "result_rank0.npz")
    rank1, loss1 = job_weights(tmp_path / "result_rank1.npz")
    keras.utils.set_random_seed(7)
    x, y = make_data(48)
    model = make_model(8, keras.optimizers.Adam(0.01), subclassed=True, step=own_step)
    model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for single, a, b in zip(model.get_weights(), rank0, rank1):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, single, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(loss0, loss1)
