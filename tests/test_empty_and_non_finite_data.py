"""Empty data gets a clear error naming the argument; NaN and infinity are found on request
(``gpukeras.debugging.enable_check_numerics``), and a NaN sparse label is always refused."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras.layers import Dense, Input
from gpukeras.utils import Sequence


def _model(loss="categorical_crossentropy"):
    model = keras.Sequential([Input((3,)), Dense(4, activation="tanh"), Dense(2, "softmax")])
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    return model


def _data(rows=40):
    x = np.linspace(-1, 1, rows * 3, dtype="float32").reshape(rows, 3)
    return x, np.eye(2, dtype="float32")[np.arange(rows) % 2]


@pytest.fixture
def check_numerics():
    keras.debugging.enable_check_numerics()
    yield
    keras.debugging.disable_check_numerics()


# -- empty data ---------------------------------------------------------------------------
EMPTY_X, EMPTY_Y = np.zeros((0, 3), "float32"), np.zeros((0, 2), "float32")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, x, y: m.fit(EMPTY_X, EMPTY_Y, verbose=0), r"`x` is empty.*x.shape=\(0, 3\)"),
        (
            lambda m, x, y: m.fit(EMPTY_X, EMPTY_Y, validation_split=0.5, verbose=0),
            r"`x` is empty.*x.shape=\(0, 3\)",
        ),
        (
            lambda m, x, y: m.fit(x, y, validation_data=(EMPTY_X, EMPTY_Y), verbose=0),
            r"`validation_data` is empty.*validation_data\[0\].shape=\(0, 3\)",
        ),
        (lambda m, x, y: m.evaluate(EMPTY_X, EMPTY_Y, verbose=0), r"`x` is empty"),
        (lambda m, x, y: m.predict(EMPTY_X, verbose=0), r"`x` is empty"),
        (lambda m, x, y: m.train_on_batch(EMPTY_X, EMPTY_Y), r"`x` is empty"),
        (lambda m, x, y: m.test_on_batch(EMPTY_X, EMPTY_Y), r"`x` is empty"),
    ],
)
def test_empty_data_is_refused_naming_the_argument(xp, call, message):
    x, y = _data()
    with pytest.raises(ValueError, match=message):
        call(_model(), x, y)


def test_predict_on_batch_of_no_rows_gives_no_rows():
    assert _model().predict_on_batch(EMPTY_X).shape == (0, 2)


# -- NaN sparse labels ----------------------------------------------------------------------
def test_a_nan_sparse_label_is_refused_with_or_without_the_check():
    x, _ = _data(4)
    labels = np.array([0, 1, np.nan, 0], dtype="float32")
    with pytest.raises(ValueError, match=r"outside \[0, 2\).*Received: NaN labels"):
        _model("sparse_categorical_crossentropy").fit(x, labels, verbose=0)
    with pytest.raises(ValueError, match=r"`y` holds class labels outside .*NaN labels"):
        _model("sparse_categorical_crossentropy").evaluate(x, labels, verbose=0)


# -- the opt-in non-finite check ------------------------------------------------------------
def test_by_default_nan_data_trains_as_keras_does_without_a_sync_per_batch():
    x, y = _data()
    x[21, 2] = np.nan
    assert not keras.debugging.is_check_numerics_enabled()
    model = _model()
    before = K.host_syncs()
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert K.host_syncs() - before <= 2  # the epoch's logs, not one per batch
    assert np.isnan(history.history["loss"][0])


@pytest.mark.usefixtures("check_numerics")
def test_the_check_names_the_first_batch_row_and_column_of_fit_data(xp):
    x, y = _data()
    x[21, 2], x[35, 0] = np.nan, np.inf
    with pytest.raises(
        ValueError, match=r"`x` holds nan at row 21, column 2 \(batch 2 of epoch 1\)"
    ):
        _model().fit(x, y, batch_size=8, shuffle=False, verbose=0)
    shuffled = r"at row (21, column 2|35, column 0) .*Received: x\[(21, 2\]=nan|35, 0\]=inf)$"
    with pytest.raises(ValueError, match=shuffled):  # rows of x, whichever comes first
        _model().fit(x, y, batch_size=8, verbose=0)
    y[3, 1] = -np.inf
    with pytest.raises(ValueError, match=r"`y` holds -inf at row 3, column 1 \(batch 0 of epoch 1"):
        _model().fit(np.nan_to_num(x), y, batch_size=8, shuffle=False, verbose=0)


@pytest.mark.usefixtures("check_numerics")
def test_the_check_covers_weights_validation_evaluate_predict_and_generators():
    x, y = _data()
    weights = np.ones(40, "float32")
    weights[9] = np.inf
    with pytest.raises(ValueError, match=r"`sample_weight` holds inf at row 9 \(batch 1"):
        _model().fit(x, y, sample_weight=weights, batch_size=8, shuffle=False, verbose=0)
    bad = x.copy()
    bad[17, 1] = np.nan
    with pytest.raises(ValueError, match=r"`validation_data\[0\]` holds nan at row 17, column 1"):
        _model().fit(x, y, validation_data=(bad, y), verbose=0)
    with pytest.raises(ValueError, match=r"`x` holds nan at row 17, column 1 \(batch 0\)"):
        _model().evaluate(bad, y, verbose=0)
    with pytest.raises(ValueError, match=r"`x` holds nan at row 17, column 1 \(batch 1\)"):
        _model().predict(bad, batch_size=16, verbose=0)

    def batches():
        yield x[:8], y[:8]
        yield bad[16:24], y[16:24]

    with pytest.raises(ValueError, match=r"row 1 of the batch's inputs, column 1 \(batch 1 of"):
        _model().fit(batches(), verbose=0)

    class Batches(Sequence):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return bad[16 * index : 16 * index + 16], y[16 * index : 16 * index + 16]

    with pytest.raises(ValueError, match=r"`x` holds nan at row 1 of the batch's inputs"):
        _model().fit(Batches(), shuffle=False, verbose=0)


@pytest.mark.usefixtures("check_numerics")
def test_finite_data_passes_the_check_and_integer_data_is_not_read():
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    sparse = _model("sparse_categorical_crossentropy")
    sparse.fit(x, np.arange(40) % 2, batch_size=8, epochs=1, verbose=0)
    keras.debugging.disable_check_numerics()
    assert not keras.debugging.is_check_numerics_enabled()
