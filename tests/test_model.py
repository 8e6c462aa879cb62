"""Sequential and the training API: building, weights, fit/evaluate/predict, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras.layers import Activation, Dense, Dropout, Input


def _data(n=48, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    labels = rng.integers(0, classes, n)
    return x, np.eye(classes, dtype="float32")[labels], labels


def _model(features=5, classes=3, **compile_kwargs):
    model = keras.Sequential(
        [Input((features,)), Dense(16, activation="relu"), Dense(classes, activation="softmax")]
    )
    compile_kwargs.setdefault("loss", "categorical_crossentropy")
    compile_kwargs.setdefault("optimizer", "adam")
    model.compile(**compile_kwargs)
    return model


# -- building and weights ------------------------------------------------------
def test_sequential_add_pop_layers_and_shapes(xp):
    model = keras.Sequential(name="stack")
    model.add(Dense(4, input_shape=(3,)))
    model.add(Activation("relu"))
    model.add(Dense(2))
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Activation", "Dense"]
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    popped = model.pop()
    assert isinstance(popped, Dense) and model.output_shape == (None, 4)


def test_model_builds_on_first_data_when_no_input_shape_was_given(xp):
    model = keras.Sequential([Dense(4), Dense(1)])
    assert not model.built
    model.compile(loss="mse", optimizer="sgd")
    x = np.ones((6, 7), dtype="float32")
    model.fit(x, np.zeros((6, 1)), verbose=0)
    assert model.layers[0].kernel.shape == (7, 4)


def test_get_set_weights_follow_keras_order_and_check_shapes(xp):
    model = _model()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(5, 16), (16,), (16, 3), (3,)]
    model.set_weights([w + 1 for w in weights])
    np.testing.assert_allclose(model.get_weights()[1], weights[1] + 1)
    with pytest.raises(ValueError, match="Received: a list of 1 arrays"):
        model.set_weights(weights[:1])
    with pytest.raises(ValueError, match=r"shape \(5, 16\).*\(16, 5\)"):
        model.set_weights([weights[0].T, *weights[1:]])


def test_summary_prints_the_keras_table(capsys):
    model = _model()
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "' in out and "Output Shape" in out and "(None, 16)" in out
    assert "Total params: 147" in out and "Non-trainable params: 0" in out


def test_config_round_trip(xp):
    model = _model()
    clone = keras.Sequential.from_config(model.get_config())
    assert [layer.get_config() for layer in clone.layers] == [
        layer.get_config() for layer in model.layers
    ]
    assert clone.output_shape == model.output_shape


def test_duplicate_layer_names_are_refused():
    model = keras.Sequential([Dense(2, name="same", input_dim=2)])
    with pytest.raises(ValueError, match="unique names"):
        model.add(Dense(2, name="same"))


# -- training ------------------------------------------------------------------
def test_fit_learns_a_separable_problem(xp):
    x, y, _ = _data(n=200)
    y = np.eye(3, dtype="float32")[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1).astype(int)]
    model = _model(metrics=["accuracy"], optimizer=keras.optimizers.Adam(0.01))
    history = model.fit(x, y, batch_size=16, epochs=30, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.5
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


def test_sparse_labels_with_sparse_loss(xp):
    x, _, labels = _data()
    model = _model(loss="sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, labels, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "acc"}


def test_inputs_may_be_nested_lists(xp):
    model = _model()
    x, y, _ = _data(n=4)
    loss = model.evaluate(x.tolist(), y.tolist(), verbose=0)
    assert isinstance(loss, float)
    assert model.predict(x.tolist(), verbose=0).shape == (4, 3)


def test_predict_is_batched_and_matches_a_single_call(xp):
    model = _model()
    x, _, _ = _data(n=70)
    batched = model.predict(x, batch_size=16, verbose=0)
    assert isinstance(batched, np.ndarray)
    np.testing.assert_allclose(batched, model.predict_on_batch(x), rtol=1e-6)


def test_evaluate_returns_list_or_dict(xp):
    x, y, _ = _data()
    model = _model(metrics=["accuracy"])
    loss, acc = model.evaluate(x, y, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        {"loss": loss, "accuracy": acc}
    )


def test_train_and_test_on_batch(xp):
    x, y, _ = _data(n=16)
    model = _model(metrics=["accuracy"])
    before = model.test_on_batch(x, y)
    for _ in range(20):
        model.train_on_batch(x, y)
    after = model.test_on_batch(x, y, return_dict=True)
    assert after["loss"] < before[0]


def test_validation_split_takes_the_last_samples_before_shuffling(xp):
    x, y, _ = _data(n=40)
    model = _model()
    history = model.fit(x, y, validation_split=0.25, epochs=1, verbose=0, shuffle=True)
    model_copy = _model()
    model_copy.set_weights(model.get_weights())
    expected = model_copy.evaluate(x[30:], y[30:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-5)


def test_validation_freq(xp):
    x, y, _ = _data()
    every_two = _model().fit(x, y, epochs=4, verbose=0, validation_data=(x, y), validation_freq=2)
    assert len(every_two.history["val_loss"]) == 2
    listed = _model().fit(x, y, epochs=4, verbose=0, validation_data=(x, y), validation_freq=[1, 4])
    assert len(listed.history["val_loss"]) == 2


def test_sample_weight_and_class_weight(xp):
    x, y, labels = _data()
    model = _model(optimizer=keras.optimizers.SGD(learning_rate=0.0))
    plain = model.evaluate(x, y, verbose=0)
    doubled = model.evaluate(x, y, sample_weight=np.full(len(x), 2.0), verbose=0)
    assert doubled == pytest.approx(2 * plain, rel=1e-5)
    weights = {0: 1.0, 1: 0.0, 2: 0.0}
    history = model.fit(
        x, y, class_weight=weights, shuffle=False, batch_size=len(x), epochs=1, verbose=0
    )
    mask = (labels == 0).astype("float32")
    expected = model.evaluate(x, y, sample_weight=mask, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_steps_per_epoch_limits_the_batches(xp):
    x, y, _ = _data(n=48)
    counted = []

    class Count(keras.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            counted.append(batch)

    _model().fit(x, y, batch_size=8, steps_per_epoch=2, epochs=2, verbose=0, callbacks=[Count()])
    assert counted == [0, 1, 0, 1]


class _BatchLosses(keras.callbacks.Callback):
    """Each training batch's own loss, per epoch (from the running means in the logs)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.current, self.mean = [], 0.0
        self.epochs = getattr(self, "epochs", []) + [self.current]

    def on_train_batch_end(self, batch, logs=None):
        self.current.append((batch + 1) * logs["loss"] - batch * self.mean)
        self.mean = logs["loss"]


def _frozen_probe():
    """Outputs 0 and never learns: a batch's mse loss is the mean of its y**2."""
    model = keras.Sequential([Input((2,)), Dense(1, kernel_initializer="zeros")])
    model.compile(keras.optimizers.SGD(0.0), "mse")
    return model


def _row_numbered(n):
    return np.ones((n, 2), "float32"), np.arange(n, dtype="float32").reshape(n, 1)


def test_steps_per_epoch_takes_consecutive_batches_of_one_pass_as_keras_3():
    x, y = _row_numbered(10)  # 5 batches of 2
    probe = _BatchLosses()
    with pytest.warns(UserWarning, match="ran out after 1 of the 2 batches"):
        _frozen_probe().fit(
            x, y, batch_size=2, steps_per_epoch=2, epochs=4, shuffle=False, verbose=0,
            callbacks=[probe],
        )  # fmt: skip
    # Keras 3.15 trains 2, 2, 1, 2 batches here (checked with its EpochIterator).
    expected = [[0.5, 6.5], [20.5, 42.5], [72.5], [0.5, 6.5]]
    assert [[round(v, 4) for v in epoch] for epoch in probe.epochs] == expected


def test_steps_per_epoch_beyond_the_data_stops_each_epoch_at_its_end():
    x, y = _row_numbered(10)
    probe = _BatchLosses()
    with pytest.warns(UserWarning, match="ran out after 5 of the 7 batches"):
        _frozen_probe().fit(
            x, y, batch_size=2, steps_per_epoch=7, epochs=2, shuffle=False, verbose=0,
            callbacks=[probe],
        )  # fmt: skip
    assert [len(epoch) for epoch in probe.epochs] == [5, 5]


def test_shuffled_epochs_share_one_pass_until_it_is_used_up():
    x, y = _row_numbered(12)  # 6 batches of 2; steps_per_epoch=2: one pass per 3 epochs
    probe = _BatchLosses()
    _frozen_probe().fit(
        x, y, batch_size=2, steps_per_epoch=2, epochs=6, shuffle=True, verbose=0,
        callbacks=[probe],
    )  # fmt: skip
    for first in (0, 3):  # every row once per pass: the sum of y**2 over the pass
        squares = sum(2 * loss for epoch in probe.epochs[first : first + 3] for loss in epoch)
        assert squares == pytest.approx(float((y**2).sum()), rel=1e-5)


def test_nb_epoch_is_accepted_with_a_warning(xp):
    x, y, _ = _data()
    with pytest.warns(DeprecationWarning, match="nb_epoch"):
        history = _model().fit(x, y, nb_epoch=2, verbose=0)
    assert history.epoch == [0, 1]


def test_set_random_seed_makes_runs_identical(xp):
    x, y, _ = _data()

    def run():
        keras.utils.set_random_seed(3)
        model = keras.Sequential(
            [Input((5,)), Dense(8, activation="relu"), Dropout(0.3), Dense(3, activation="softmax")]
        )
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_regularization_is_part_of_the_loss(xp):
    x, y, _ = _data()
    model = keras.Sequential(
        [Input((5,)), Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.L2(1.0))]
    )
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    kernel = model.layers[0].kernel.numpy()
    plain = keras.losses.CategoricalCrossentropy()(y, model.predict(x, verbose=0))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(
        float(K.to_host(plain)) + float((kernel**2).sum()), rel=1e-5
    )


# -- bad input -----------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda m, x, y: m.fit(x, y[:-1], verbose=0),
            ValueError,
            r"same number of samples.*x.shape\[0\]=48.*y.shape\[0\]=47",
        ),
        (
            lambda m, x, y: m.fit(x[:, :4], y, verbose=0),
            ValueError,
            r"expected shape \(None, 5\), got \(None, 4\)",
        ),
        (
            lambda m, x, y: m.fit(x, y[:, :2], verbose=0),
            ValueError,
            r"y has 2 columns/classes, the model outputs 3",
        ),
        (
            lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0),
            ValueError,
            r"Received: batch_size=0",
        ),
        (lambda m, x, y: m.fit(x, y, epochs=-1, verbose=0), ValueError, r"Received: epochs=-1"),
        (
            lambda m, x, y: m.fit(np.array([["a"] * 5] * 48), y, verbose=0),
            TypeError,
            r"`x` must be numeric. Received: x with dtype <U1",
        ),
        (
            lambda m, x, y: m.fit(x, y, validation_data=(x,), verbose=0),
            ValueError,
            r"validation_data.*Received: a tuple of length 1",
        ),
        (
            lambda m, x, y: m.fit(x, y, validation_data=(x[:, :2], y), verbose=0),
            ValueError,
            r"validation_data\[0\]",
        ),
        (
            lambda m, x, y: m.predict(x[:, :, None], verbose=0),
            ValueError,
            r"expected shape \(None, 5\), got \(None, 5, 1\)",
        ),
        (
            lambda m, x, y: m.fit(x, y, sample_weight=np.ones(3), verbose=0),
            ValueError,
            r"sample_weight.shape\[0\]=3",
        ),
        (lambda m, x, y: m.fit(x, y, colour="red", verbose=0), TypeError, r"'colour'"),
        (
            lambda m, x, y: m.fit(x, y, nb_epoch=2, epochs=3, verbose=0),
            TypeError,
            r"nb_epoch.*epochs",
        ),
        (lambda m, x, y: m.fit(x, y, verbose=3), ValueError, r"Received: verbose=3"),
        (
            lambda m, x, y: m.fit(x, y, validation_split=1.5, verbose=0),
            ValueError,
            r"Received: validation_split=1.5",
        ),
    ],
)
def test_bad_input_gets_a_clear_gpukeras_error(xp, call, error, message):
    x, y, _ = _data()
    with pytest.raises(error, match=message):
        call(_model(), x, y)


def test_fit_before_compile_is_refused():
    model = keras.Sequential([Dense(2, input_dim=3)])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.ones((2, 3)), np.ones((2, 2)), verbose=0)


def test_sparse_labels_out_of_range_are_named(xp):
    x, _, labels = _data()
    model = _model(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"outside \[0, 3\).*to 7"):
        model.fit(x, np.where(labels == 0, 7, labels), verbose=0)


@pytest.mark.parametrize("name, kind", [("optimizer", "adamm"), ("loss", "crossentropyy")])
def test_unknown_ids_in_compile_list_the_known_ones(name, kind):
    model = keras.Sequential([Dense(2, input_dim=3)])
    with pytest.raises(ValueError, match=f"Received: {name}='{kind}'"):
        model.compile(**{"optimizer": "sgd", "loss": "mse", name: kind})


def test_metrics_ignore_sample_weights_and_weighted_metrics_use_them(xp):
    x, y, labels = _data()
    weights = np.linspace(0.0, 2.0, len(x)).astype("float32")
    model = _model(
        metrics=["acc"],
        weighted_metrics=["acc", "mse"],
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
    )
    history = model.fit(x, y, sample_weight=weights, batch_size=len(x), verbose=0)
    assert sorted(history.history) == ["acc", "loss", "mse", "weighted_acc"]
    correct = (model.predict(x, verbose=0).argmax(axis=1) == labels).astype("float64")
    assert history.history["acc"][0] == pytest.approx(correct.mean(), rel=1e-6)
    assert history.history["weighted_acc"][0] == pytest.approx(
        (correct * weights).sum() / weights.sum(), rel=1e-5
    )


def test_training_skips_only_the_first_layers_input_gradient(xp, monkeypatch):
    x, y, _ = _data(n=16)
    model = _model()
    first, second = model.layers
    calls = []
    original = Dense.backward_preactivation

    def spy(layer, grad):
        result = original(layer, grad)
        calls.append((layer.name, result is None))
        return result

    monkeypatch.setattr(Dense, "backward_preactivation", spy)
    model.train_on_batch(x, y)
    assert calls == [(second.name, False), (first.name, True)]
    assert first.needs_input_grad  # restored after the step
