"""TerminateOnNaN: stops at the first non-finite batch loss; one host transfer per batch."""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras.callbacks import LambdaCallback, TerminateOnNaN
from tests.callbacks_support import tiny_data, tiny_model


def nan_data(bad_sample=20, value=np.nan):
    x, y = tiny_data()
    x[bad_sample, 0] = value
    return x, y


def test_stops_at_the_bad_batch_and_prints(capsys):
    x, y = nan_data()
    seen = {"batches": [], "epochs": [], "train_end": 0}
    spy = LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen["batches"].append(batch),
        on_epoch_end=lambda epoch, logs: seen["epochs"].append(epoch),
        on_train_end=lambda logs: seen.__setitem__("train_end", seen["train_end"] + 1),
    )
    model = tiny_model()
    model.fit(
        x, y, epochs=3, batch_size=16, shuffle=False, verbose=0, callbacks=[TerminateOnNaN(), spy]
    )
    assert "Batch 1: Invalid loss, terminating training\n" == capsys.readouterr().out
    # The batch loop stops after batch 1; the epoch still ends and on_train_end runs.
    assert seen == {"batches": [0, 1], "epochs": [0], "train_end": 1}
    assert model.stop_training


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_infinite_loss_counts_too(capsys):
    x, y = nan_data(bad_sample=40, value=np.inf)
    tiny_model().fit(
        x, y, epochs=2, batch_size=16, shuffle=False, verbose=0, callbacks=[TerminateOnNaN()]
    )
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"


def test_raise_error():
    x, y = nan_data()
    ended = []
    spy = LambdaCallback(on_train_end=lambda logs: ended.append(True))
    with pytest.raises(
        RuntimeError, match="NaN or Inf loss encountered at batch 1. Loss value: nan"
    ):
        tiny_model().fit(
            x,
            y,
            batch_size=16,
            shuffle=False,
            verbose=0,
            callbacks=[TerminateOnNaN(raise_error=True), spy],
        )
    assert ended == []  # Keras: raising skips the other callbacks' cleanup


def test_finite_run_is_untouched_and_costs_one_transfer_per_batch():
    x, y = tiny_data()
    model = tiny_model()
    model.fit(x, y, epochs=1, verbose=0)
    before = K.host_syncs()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    baseline = K.host_syncs() - before
    before = K.host_syncs()
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[TerminateOnNaN()])
    # 64 samples / 16 = 4 batches per epoch, each read once.
    assert K.host_syncs() - before == baseline + 2 * 4
    assert len(history.epoch) == 2 and not model.stop_training


def test_missing_loss_is_ignored():
    callback = TerminateOnNaN()
    callback.on_batch_end(0, {"size": 3})
    callback.on_train_batch_end(0, None)
