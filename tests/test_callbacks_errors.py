"""A callback that raises inside any hook surfaces its own exception from fit/evaluate/predict."""

from __future__ import annotations

import pytest

from gpukeras.callbacks import (
    CSVLogger,
    LambdaCallback,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TensorBoard,
)
from tests.callbacks_support import tiny_data, tiny_model


class Boom(Exception):
    pass


TRAIN_HOOKS = [
    "on_train_begin",
    "on_epoch_begin",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_test_begin",
    "on_test_batch_end",
    "on_test_end",
    "on_epoch_end",
    "on_train_end",
]


def raiser(error):
    def hook(*args, **kwargs):
        raise error

    return hook


@pytest.mark.parametrize("hook", TRAIN_HOOKS)
def test_fit_surfaces_the_original_exception(hook, tmp_path):
    error = Boom(hook)
    # Other callbacks before and after it must not swallow or replace the error.
    callbacks = [
        ReduceLROnPlateau(),
        LambdaCallback(**{hook: raiser(error)}),
        CSVLogger(tmp_path / "log.csv"),
        TensorBoard(tmp_path / "tb"),
    ]
    x, y = tiny_data(32)
    with pytest.raises(Boom) as caught:
        tiny_model().fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=callbacks)
    assert caught.value is error


@pytest.mark.parametrize(
    "hook, run",
    [
        ("on_test_batch_begin", lambda m, x, y, cb: m.evaluate(x, y, verbose=0, callbacks=cb)),
        ("on_predict_begin", lambda m, x, y, cb: m.predict(x, verbose=0, callbacks=cb)),
        ("on_predict_batch_end", lambda m, x, y, cb: m.predict(x, verbose=0, callbacks=cb)),
    ],
)
def test_evaluate_and_predict_surface_the_original_exception(hook, run):
    error = Boom(hook)
    x, y = tiny_data(32)
    with pytest.raises(Boom) as caught:
        run(tiny_model(), x, y, [LambdaCallback(**{hook: raiser(error)})])
    assert caught.value is error


def test_schedule_exception_surfaces():
    error = Boom("schedule")
    x, y = tiny_data(32)
    with pytest.raises(Boom) as caught:
        tiny_model().fit(x, y, verbose=0, callbacks=[LearningRateScheduler(raiser(error))])
    assert caught.value is error


@pytest.mark.parametrize("hook", ["on_epoch_begin", "on_train_batch_end", "on_epoch_end"])
def test_a_failed_fit_closes_the_files_callbacks_opened(hook, tmp_path):
    csv = CSVLogger(tmp_path / "log.csv")
    board = TensorBoard(tmp_path / "tb")
    failing = LambdaCallback(**{hook: raiser(Boom(hook))})
    x, y = tiny_data(32)
    with pytest.raises(Boom):
        tiny_model().fit(x, y, epochs=2, verbose=0, callbacks=[csv, failing, board])
    assert csv.csv_file is None  # closed, so what it wrote is on disk
    assert board._writers == {}
    assert (tmp_path / "log.csv").exists()
