"""utils.disable_interactive_logging(): progress and callback messages go to the logger."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import callbacks, layers, utils


@pytest.fixture
def logging_off():
    utils.disable_interactive_logging()
    yield
    utils.enable_interactive_logging()
    logging.getLogger("gpukeras").setLevel(logging.NOTSET)


def _fit(verbose, callback_list=()):
    model = keras.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 3), np.float32), np.ones((8, 1), np.float32)
    model.fit(x, y, epochs=2, verbose=verbose, validation_data=(x, y), callbacks=callback_list)


def test_callback_messages_and_progress_go_to_the_logger(logging_off, capsys, caplog):
    utils.set_logging_verbosity("INFO")
    reduce_lr = callbacks.ReduceLROnPlateau(patience=1, factor=0.1, min_delta=100, verbose=1)
    with caplog.at_level(logging.INFO, logger="gpukeras"):
        _fit(verbose=1, callback_list=[reduce_lr])
    assert capsys.readouterr().out == ""
    messages = [record.getMessage() for record in caplog.records]
    assert any("ReduceLROnPlateau reducing learning rate to 0.000999" in m for m in messages)
    assert any(m.startswith("Epoch 1/2") for m in messages)
    assert not any("\r" in m or "\x1b" in m for m in messages)


def test_enabled_again_prints_to_stdout(capsys):
    assert utils.is_interactive_logging_enabled()
    _fit(verbose=2)
    assert "Epoch 2/2" in capsys.readouterr().out


def test_unknown_verbosity_is_refused():
    with pytest.raises(ValueError, match="Received: level='LOUD'"):
        utils.set_logging_verbosity("LOUD")


def test_distributed_warmup_message_goes_to_the_logger(logging_off, capsys, caplog):
    from gpukeras import distributed

    utils.set_logging_verbosity("INFO")
    warmup = distributed.LearningRateWarmup(warmup_epochs=1, verbose=1)
    with caplog.at_level(logging.INFO, logger="gpukeras"):
        _fit(verbose=0, callback_list=[warmup])
    assert capsys.readouterr().out == ""
    messages = [record.getMessage() for record in caplog.records]
    assert any("Epoch 1: finished gradual learning rate warmup to" in m for m in messages)


def test_keras_config_gathers_the_global_settings():
    from gpukeras import backend, config, mixed_precision

    assert config.disable_interactive_logging is utils.disable_interactive_logging
    assert config.floatx is backend.floatx and config.set_epsilon is backend.set_epsilon
    assert config.set_dtype_policy is mixed_precision.set_global_policy
    config.disable_interactive_logging()
    try:
        assert not config.is_interactive_logging_enabled()
    finally:
        config.enable_interactive_logging()
    assert config.is_interactive_logging_enabled()
