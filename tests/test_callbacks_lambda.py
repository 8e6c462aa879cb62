"""LambdaCallback: every hook by name, the seed's batch names, bad names."""

from __future__ import annotations

import pytest

from gpukeras.callbacks import LambdaCallback
from gpukeras.callbacks._lambda_callback import HOOK_NAMES
from tests.callbacks_support import tiny_data, tiny_model


def test_fit_evaluate_predict_call_the_functions():
    calls = []

    def record(name):
        return lambda *args: calls.append((name, *args[:-1]) if len(args) > 1 else (name,))

    callback = LambdaCallback(
        on_train_begin=record("train_begin"),
        on_train_end=record("train_end"),
        on_epoch_begin=record("epoch_begin"),
        on_epoch_end=record("epoch_end"),
        on_train_batch_begin=record("batch_begin"),
        on_train_batch_end=record("batch_end"),
        on_test_begin=record("test_begin"),
        on_test_batch_end=record("test_batch_end"),
        on_predict_batch_end=record("predict_batch_end"),
    )
    x, y = tiny_data(32)
    model = tiny_model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    assert calls == [
        ("train_begin",),
        ("epoch_begin", 0),
        ("batch_begin", 0),
        ("batch_end", 0),
        ("batch_begin", 1),
        ("batch_end", 1),
        ("epoch_end", 0),
        ("epoch_begin", 1),
        ("batch_begin", 0),
        ("batch_end", 0),
        ("batch_begin", 1),
        ("batch_end", 1),
        ("epoch_end", 1),
        ("train_end",),
    ]
    calls.clear()
    model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[callback])
    model.predict(x, batch_size=32, verbose=0, callbacks=[callback])
    assert calls == [
        ("test_begin",),
        ("test_batch_end", 0),
        ("test_batch_end", 1),
        ("predict_batch_end", 0),
    ]


def test_seed_batch_names_receive_batch_logs():
    losses = []
    callback = LambdaCallback(on_batch_end=lambda batch, logs: losses.append(logs["loss"]))
    x, y = tiny_data(32)
    tiny_model().fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[callback])
    assert len(losses) == 4 and all(isinstance(v, float) for v in losses)


def test_epoch_logs_reach_the_function():
    seen = []
    callback = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(sorted(logs)))
    x, y = tiny_data(32)
    tiny_model().fit(x, y, epochs=1, verbose=0, validation_split=0.25, callbacks=[callback])
    assert seen == [["accuracy", "loss", "val_accuracy", "val_loss"]]


def test_misspelt_hook_names_are_named_in_a_warning():
    with pytest.warns(UserWarning, match="unknown hook name.*on_epoch_ending, on_trian_begin"):
        LambdaCallback(on_trian_begin=print, on_epoch_ending=print)


def test_extra_keyword_arguments_are_kept_as_attributes():
    def custom_method(logs):
        return logs

    callback = LambdaCallback(custom_method=custom_method, owner="me")
    assert callback.custom_method is custom_method
    assert callback.owner == "me"


def test_non_callable_hook():
    with pytest.raises(TypeError, match="Received: on_epoch_end=3"):
        LambdaCallback(on_epoch_end=3)


def test_every_callback_hook_is_accepted():
    assert "on_predict_end" in HOOK_NAMES and "on_batch_begin" in HOOK_NAMES
    callback = LambdaCallback(**{name: print for name in HOOK_NAMES})
    assert all(getattr(callback, name) is print for name in HOOK_NAMES)


def test_hooks_left_out_do_nothing():
    callback = LambdaCallback()
    callback.on_epoch_end(0, {})
    callback.on_train_batch_end(0, {})
