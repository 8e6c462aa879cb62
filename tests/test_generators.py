"""fit/evaluate/predict with batches from a gpukeras.utils.Sequence or a Python generator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras.layers import Dense
from gpukeras.models import Sequential


def make_data(n=48, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = rng.integers(0, classes, n)
    return x, y


def make_model(features=5, classes=3, metrics=("accuracy",)):
    keras.utils.set_random_seed(7)
    model = Sequential([keras.Input((features,)), Dense(8, activation="relu"), Dense(classes)])
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=list(metrics),
    )
    return model


class ArraySequence(keras.utils.Sequence):
    """Slices of arrays, ``batch_size`` rows at a time; records its epoch hooks."""

    def __init__(self, x, y, batch_size, weights=None, as_device=False):
        super().__init__()
        self.x, self.y, self.w, self.batch_size = x, y, weights, batch_size
        self.as_device = as_device
        self.events: list[str] = []
        self.requested: list[int] = []

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        self.requested.append(index)
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        batch = (self.x[rows], self.y[rows])
        if self.w is not None:
            batch += (self.w[rows],)
        return tuple(K.to_device(a) for a in batch) if self.as_device else batch

    def on_epoch_begin(self):
        self.events.append("begin")

    def on_epoch_end(self):
        self.events.append("end")


def batches_of(x, y, batch_size):
    for start in range(0, len(x), batch_size):
        yield x[start : start + batch_size], y[start : start + batch_size]


def weights_of(model):
    return [K.to_host(w.value).copy() for w in model.weights]


def assert_same_weights(a, b):
    for left, right in zip(weights_of(a), weights_of(b)):
        np.testing.assert_allclose(left, right, rtol=1e-6, atol=1e-7)


# -- training matches the array path ------------------------------------------------
def test_sequence_fit_matches_arrays_without_shuffling(backend_name):
    x, y = make_data()
    by_arrays, by_sequence = make_model(), make_model()
    expected = by_arrays.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    sequence = ArraySequence(x, y, 16, as_device=backend_name == "cupy")
    got = by_sequence.fit(sequence, epochs=3, shuffle=False, verbose=0)
    assert_same_weights(by_arrays, by_sequence)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(got.history[key], expected.history[key], rtol=1e-6)
    assert got.params["steps"] == 3 and got.params["samples"] is None
    assert sequence.events == ["begin", "end"] * 3


def test_generator_fit_evaluate_predict_match_arrays(backend_name):
    x, y = make_data()
    by_arrays, by_generator = make_model(), make_model()
    by_arrays.fit(x, y, batch_size=12, epochs=1, shuffle=False, verbose=0)
    by_generator.fit(batches_of(x, y, 12), epochs=1, verbose=0)
    assert_same_weights(by_arrays, by_generator)
    expected = by_arrays.evaluate(x, y, batch_size=12, verbose=0)
    got = by_generator.evaluate(batches_of(x, y, 12), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    predictions = by_generator.predict((x[i : i + 10] for i in range(0, 48, 10)), verbose=0)
    assert isinstance(predictions, np.ndarray) and predictions.shape == (48, 3)
    np.testing.assert_allclose(predictions, by_arrays.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_sequence_sample_weights_and_class_weight():
    x, y = make_data()
    weights = np.where(y == 0, 3.0, 1.0).astype("float32")
    by_arrays, by_sequence, by_class_weight = make_model(), make_model(), make_model()
    by_arrays.fit(x, y, batch_size=16, sample_weight=weights, shuffle=False, verbose=0)
    by_sequence.fit(ArraySequence(x, y, 16, weights), shuffle=False, verbose=0)
    by_class_weight.fit(
        ArraySequence(x, y, 16), class_weight={0: 3.0, 1: 1.0, 2: 1.0}, shuffle=False, verbose=0
    )
    assert_same_weights(by_arrays, by_sequence)
    assert_same_weights(by_arrays, by_class_weight)


def test_shuffle_visits_every_batch_once_per_epoch_in_a_new_order():
    x, y = make_data(n=80)
    sequence = ArraySequence(x, y, 8)
    make_model().fit(sequence, epochs=3, verbose=0)  # shuffle=True by default
    # Batch 0 is read when fit starts (to build the step) and reused in the first epoch.
    requested = sequence.requested
    assert requested[0] == 0 and len(requested) == 30
    epochs = [requested[:10], requested[10:20], requested[20:]]
    assert all(sorted(order) == list(range(10)) for order in epochs)
    assert requested[1:10] != list(range(1, 10)) and epochs[1] != epochs[2]


def test_validation_data_as_sequence_and_as_generator_with_steps():
    x, y = make_data()
    vx, vy = make_data(n=20, seed=1)
    model = make_model()
    history = model.fit(
        x, y, batch_size=16, epochs=2, validation_data=ArraySequence(vx, vy, 8), verbose=0
    )
    expected = model.evaluate(vx, vy, verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-6)

    def endless():
        while True:
            yield from batches_of(vx, vy, 10)

    history = make_model().fit(
        ArraySequence(x, y, 16), epochs=2, validation_data=endless(), validation_steps=2, verbose=0
    )
    assert len(history.history["val_accuracy"]) == 2


def test_infinite_generator_with_steps_per_epoch_continues_across_epochs():
    x, y = make_data()
    drawn = []

    def endless():
        index = 0
        while True:
            drawn.append(index)
            start = (index % 4) * 12
            yield x[start : start + 12], y[start : start + 12]
            index += 1

    history = make_model().fit(endless(), steps_per_epoch=3, epochs=4, verbose=0)
    assert history.params["steps"] == 3
    assert len(history.history["loss"]) == 4
    assert drawn == list(range(12))


def test_a_used_up_generator_stops_training_with_a_warning():
    x, y = make_data()
    with pytest.warns(UserWarning, match="ran out of data after epoch 1"):
        history = make_model().fit(batches_of(x, y, 16), epochs=3, verbose=0)
    assert history.epoch == [0]
    assert history.params["steps"] is None  # unknown until the generator ends


def test_finite_generator_shorter_than_steps_per_epoch():
    x, y = make_data()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = make_model().fit(batches_of(x, y, 16), steps_per_epoch=2, epochs=3, verbose=0)
    assert history.epoch == [0, 1]


def test_verbose_progress_with_unknown_steps(capsys):
    x, y = make_data()
    make_model().fit(batches_of(x, y, 16), epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert "3/3" in out and "loss:" in out


def test_more_steps_than_sequence_batches_stop_at_its_end_as_keras_3():
    x, y = make_data()
    sequence = ArraySequence(x, y, 16)
    with pytest.warns(UserWarning, match="ran out after 3 of the 5 batches"):
        history = make_model().fit(sequence, steps_per_epoch=5, shuffle=False, verbose=0)
    assert sequence.requested == [0, 1, 2]  # the first read is reused; no wrap-around
    assert len(history.history["loss"]) == 1


def test_epochs_go_on_through_a_sequence_as_keras_3():
    x, y = make_data(80)  # 5 batches of 16
    sequence = ArraySequence(x, y, 16)
    with pytest.warns(UserWarning, match="ran out after 1 of the 2 batches"):
        make_model().fit(sequence, steps_per_epoch=2, epochs=4, shuffle=False, verbose=0)
    # Keras 3.15 reads 0, 1 | 2, 3 | 4 | 0, 1 here (checked with a PyDataset).
    assert sequence.requested == [0, 1, 2, 3, 4, 0, 1]


class EndlessArraySequence(ArraySequence):
    """An infinite Sequence (num_batches None) that repeats its arrays."""

    @property
    def num_batches(self):
        return None

    def __getitem__(self, index):
        return super().__getitem__(index % len(self))


@pytest.mark.parametrize("kind", [ArraySequence, EndlessArraySequence])
def test_every_validation_starts_at_the_first_batch_of_a_sequence_as_keras_3(kind):
    x, y = make_data(80)
    held_out = kind(x, y, 16)  # 5 batches
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "ran out" warning either
        make_model().fit(
            x, y, batch_size=16, epochs=3, verbose=0, validation_data=held_out, validation_steps=2
        )
    # Keras 3.15 resets its validation iterator before every evaluation (checked with a
    # PyDataset): batches 0, 1 each time. Batch 0 is read once up front and then reused.
    assert held_out.requested == [0, 1, 0, 1, 0, 1]


def test_model_without_input_shape_is_built_from_the_first_batch():
    x, y = make_data()
    model = Sequential([Dense(3)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(ArraySequence(x, y, 16), verbose=0)
    assert model.input_shape == (None, 5)


def test_pydataset_is_sequence_and_generator_batches_may_be_lists():
    x, y = make_data()
    assert keras.utils.PyDataset is keras.utils.Sequence
    as_lists = ([x[i : i + 16], y[i : i + 16]] for i in range(0, 48, 16))
    make_model().fit(as_lists, verbose=0)


# -- bad input -------------------------------------------------------------------
def test_mismatched_rows_name_the_batch_and_shapes():
    x, y = make_data()

    def bad():
        yield x[:16], y[:16]
        yield x[16:32], y[16:31]

    with pytest.raises(ValueError) as info:
        make_model().fit(bad(), verbose=0)
    message = str(info.value)
    assert "batch 1 from x (a generator)" in message
    assert "x.shape=(16, 5)" in message and "y.shape=(15,)" in message


def test_mismatched_feature_shape_names_the_batch_and_shapes():
    x, y = make_data()

    def bad():
        yield x[:16], y[:16]
        yield x[16:32, :4], y[16:32]

    with pytest.raises(
        ValueError, match=r"inputs of batch 1 from x \(a generator\).*\(None, 5\).*\(16, 4\)"
    ):
        make_model().fit(bad(), verbose=0)


def test_a_batch_that_is_not_a_tuple():
    def bad():
        yield {1, 2}

    with pytest.raises(TypeError, match=r"batch 0 from x \(a generator\) must be a tuple.*set"):
        make_model().fit(bad(), verbose=0)

    def inputs_only():  # a dict is the inputs of a model with several: no targets for fit
        yield {"x": np.zeros((2, 3), "float32")}

    with pytest.raises(ValueError, match=r"batch 0 from x \(a generator\) holds inputs only"):
        make_model().fit(inputs_only(), verbose=0)

    def too_long():
        yield (1, 2, 3, 4)

    with pytest.raises(TypeError, match="a tuple of 4"):
        make_model().fit(too_long(), verbose=0)


def test_inputs_only_batches_are_refused_for_fit_but_fine_for_predict():
    x, _ = make_data()
    model = make_model()
    with pytest.raises(ValueError, match="holds inputs only"):
        model.fit(iter([x[:8]]), verbose=0)
    assert model.predict(iter([(x[:8],)]), verbose=0).shape == (8, 3)


def test_mixing_weighted_and_unweighted_batches():
    x, y = make_data()
    w = np.ones(48, "float32")

    def bad():
        yield x[:16], y[:16], w[:16]
        yield x[16:32], y[16:32]

    with pytest.raises(ValueError, match="batch 1 from x.*has no sample weights"):
        make_model().fit(bad(), verbose=0)


def test_non_numeric_batch_names_the_batch():
    x, y = make_data()
    with pytest.raises(TypeError, match=r"inputs of batch 0 from x \(a Sequence\)"):
        make_model().fit(ArraySequence(np.array([["a"] * 5] * 4), y[:4], 4), verbose=0)


def test_arguments_that_do_not_combine_with_a_stream():
    x, y = make_data()
    model = make_model()
    with pytest.raises(ValueError, match="`y` must be None.*Received: y of type ndarray"):
        model.fit(ArraySequence(x, y, 16), y, verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` must be None"):
        model.evaluate(batches_of(x, y, 16), sample_weight=np.ones(48), verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(ArraySequence(x, y, 16), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch.*positive int"):
        model.fit(ArraySequence(x, y, 16), steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        weights = np.ones(48, "float32")
        model.fit(ArraySequence(x, y, 16, weights), class_weight={0: 1.0, 1: 1.0, 2: 1.0})


def test_empty_and_infinite_sequences():
    x, y = make_data()

    class Empty(keras.utils.Sequence):
        def __len__(self):
            return 0

    class Endless(ArraySequence):
        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):  # epochs go on through it, as in Keras 3
            return super().__getitem__(index % 3)

    model = make_model()
    with pytest.raises(ValueError, match="no batches"):
        model.fit(Empty(), verbose=0)
    with pytest.raises(ValueError, match="infinite Sequence.*steps_per_epoch"):
        model.fit(Endless(x, y, 16), verbose=0)
    endless = Endless(x, y, 16)
    history = model.fit(endless, steps_per_epoch=2, epochs=2, verbose=0)
    assert history.params["steps"] == 2
    assert endless.requested == [0, 1, 2, 0]  # fit asked for 0-3; index 3 wrapped above
    with pytest.raises(ValueError, match="no batches"):
        model.fit(iter([]), verbose=0)


def test_sequence_without_len_says_what_to_implement():
    class Incomplete(keras.utils.Sequence):
        def __getitem__(self, index):
            return None

    with pytest.raises(NotImplementedError, match="must implement __len__"):
        make_model().fit(Incomplete(), verbose=0)


def test_arrays_still_take_the_array_path():
    x, y = make_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = make_model().fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert history.params["samples"] == 48


def test_fit_with_a_stream_makes_one_host_transfer_per_epoch():
    x, y = make_data()
    model = make_model()
    model.fit(ArraySequence(x, y, 16), epochs=1, verbose=0)  # compile the step first
    before = K.host_syncs()
    model.fit(ArraySequence(x, y, 16), epochs=3, verbose=0)
    assert K.host_syncs() - before <= 3
