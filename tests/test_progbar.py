"""ProgbarLogger and Progbar: Keras 3's text, in place on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io
import re
import sys

import numpy as np
import pytest

from gpukeras.callbacks._progbar_logger import (
    Progbar,
    ProgbarLogger,
    _format_eta,
    _format_time_per_unit,
    format_value,
    print_line,
)

CONTROL = re.compile(r"[\r\b\x1b]")
TIME = r"\d+(?:s|ms|us)/step"


class CountingLogs(dict):
    """Logs that count reads: reading lazy logs is what costs a device sync."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.reads += 1
        return super().get(key, default)

    def items(self):
        self.reads += 1
        return super().items()

    def values(self):
        self.reads += 1
        return super().values()


class Terminal(io.StringIO):
    def isatty(self):
        return True


def fit_hooks(logger, epochs=2, steps=3, batch_logs=None, verbose=1):
    """Drive the hooks the way fit does; returns the batch logs objects used."""
    logger.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
    logger.on_train_begin()
    used = []
    for epoch in range(epochs):
        logger.on_epoch_begin(epoch)
        for batch in range(steps):
            logs = CountingLogs(batch_logs or {"batch": batch, "size": 4, "loss": 0.5})
            used.append(logs)
            logger.on_train_batch_begin(batch, {"batch": batch, "size": 4})
            logger.on_train_batch_end(batch, logs)
        # Validation inside fit is silent.
        logger.on_test_begin()
        logger.on_test_batch_end(0, {"loss": 9.0})
        logger.on_test_end({"loss": 9.0})
        logger.on_epoch_end(epoch, {"loss": 0.25, "val_loss": 0.0001})
    logger.on_train_end()
    return used


def test_verbose_1_into_a_file_is_plain_lines(capsys):
    used = fit_hooks(ProgbarLogger())
    out = capsys.readouterr().out
    assert not CONTROL.search(out)
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    for line in (lines[1], lines[3]):
        assert re.fullmatch(
            rf"3/3 ━{{20}} \d+s {TIME} - loss: 0\.2500 - val_loss: 1\.0000e-04", line
        ), line
    # Not a terminal: batch logs are never read (no device sync per batch).
    assert all(logs.reads == 0 for logs in used)


def test_single_epoch_has_no_header(capsys):
    fit_hooks(ProgbarLogger(), epochs=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("3/3 ")


def test_verbose_2_one_line_per_epoch(capsys):
    used = fit_hooks(ProgbarLogger(), verbose=2, steps=12)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert re.fullmatch(rf"12/12 - \d+s - {TIME} - loss: 0\.2500 - val_loss: 1\.0000e-04", lines[1])
    assert len(lines) == 4
    assert all(logs.reads == 0 for logs in used)


def test_verbose_0_prints_nothing(capsys):
    fit_hooks(ProgbarLogger(), verbose=0)
    assert capsys.readouterr().out == ""


def test_terminal_redraws_in_place_and_reads_logs_only_when_drawing(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    used = fit_hooks(ProgbarLogger(), epochs=1, steps=50)
    out = terminal.getvalue()
    # The first batch always draws; the next ones come within 0.05 s and do not.
    assert used[0].reads == 1
    assert sum(logs.reads for logs in used) < 50
    assert "\r" in out and "\x1b[1m" in out
    assert out.endswith("\n") and out.count("\n") == 1
    final = out.rsplit("\r", 1)[-1]
    plain = re.sub(r"\x1b\[\d+m", "", final)
    assert re.fullmatch(
        rf"50/50 ━{{20}} \d+s {TIME} - loss: 0\.2500 - val_loss: 1\.0000e-04 *\n", plain
    )
    # 'batch' and 'size' are bookkeeping, not metrics.
    assert "batch:" not in out and "size:" not in out


def test_terminal_bar_shows_eta_while_running(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    logger = ProgbarLogger()
    logger.set_params({"verbose": 1, "epochs": 1, "steps": 469})
    logger.on_epoch_begin(0)
    logger.on_train_batch_end(36, {"loss": 0.6717, "accuracy": 0.59375})
    plain = re.sub(r"\x1b\[\d+m", "", terminal.getvalue())
    assert re.fullmatch(
        rf"\r 37/469 ━━━━━━━━━━━━━━━━━━━━ \d+s {TIME} - loss: 0\.6717 - accuracy: 0\.5938", plain
    ), repr(plain)
    # A callback's message starts on a new line instead of running into the bar.
    print_line("Epoch 1: saving model to m.h5")
    assert terminal.getvalue().endswith("accuracy: 0.5938\nEpoch 1: saving model to m.h5\n")


def test_message_after_finished_line_adds_no_blank_line(capsys):
    fit_hooks(ProgbarLogger(), epochs=1)
    print_line("Epoch 1: early stopping")
    out = capsys.readouterr().out
    assert "\n\n" not in out and out.endswith("\nEpoch 1: early stopping\n")


def test_evaluate_prints_one_line(capsys):
    logger = ProgbarLogger()
    logger.set_params({"verbose": 1, "epochs": 1, "steps": 4})
    logger.on_test_begin()
    logs = [CountingLogs(loss=1.0) for _ in range(4)]
    for batch in range(4):
        logger.on_test_batch_end(batch, logs[batch])
    logger.on_test_end({"loss": 0.125, "accuracy": 0.75})
    out = capsys.readouterr().out
    assert re.fullmatch(rf"4/4 ━{{20}} \d+s {TIME} - loss: 0\.1250 - accuracy: 0\.7500\n", out)
    assert all(item.reads == 0 for item in logs)


def test_predict_prints_one_line_without_metrics(capsys):
    logger = ProgbarLogger()
    logger.set_params({"verbose": 1, "epochs": 1, "steps": 2})
    logger.on_predict_begin()
    for batch in range(2):
        logger.on_predict_batch_end(batch, {"outputs": np.zeros((2, 2))})
    logger.on_predict_end()
    assert re.fullmatch(rf"2/2 ━{{20}} \d+s {TIME}\n", capsys.readouterr().out)


def test_unknown_steps_counts_batches(capsys):
    logger = ProgbarLogger()
    logger.set_params({"verbose": 1, "epochs": 1, "steps": None})
    logger.on_train_begin()
    logger.on_epoch_begin(0)
    for batch in range(5):
        logger.on_train_batch_end(batch, {"loss": 1.0})
    logger.on_epoch_end(0, {"loss": 1.0})
    assert capsys.readouterr().out.startswith("5/5 ")


@pytest.mark.parametrize(
    "value, text",
    [
        (0.5, "0.5000"),
        (-0.5, "-0.5000"),
        (0.0005, "5.0000e-04"),
        (0.0, "0.0000e+00"),
        (12.3456789, "12.3457"),
        (-0.0001, "-1.0000e-04"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_time_formats():
    assert _format_eta(5.9) == "5s"
    assert _format_eta(75) == "1:15"
    assert _format_eta(3725) == "1:02:05"
    assert _format_time_per_unit(0.008, "step") == "8ms/step"
    assert _format_time_per_unit(2.4, "step") == "2s/step"
    assert _format_time_per_unit(0.0000421, "step") == "42us/step"
    assert _format_time_per_unit(0, "step") == "0s/step"


def test_progbar_averages_unless_stateful(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    bar = Progbar(target=10, stateful_metrics=["acc"], interval=0)
    bar.update(1, [("loss", 1.0), ("acc", 0.1)])
    bar.add(1, [("loss", 3.0), ("acc", 0.2)])
    bar.add(2, [("loss", 4.0), ("acc", 0.3)])
    last = re.sub(r"\x1b\[\d+m", "", terminal.getvalue().rsplit("\r", 1)[-1])
    # A redraw shorter than the line before it is padded with spaces to cover it.
    last = last.rstrip(" ")
    # Weighted by steps: (1 + 3 + 2 * 4) / 4 = 3; acc shown as given.
    assert re.fullmatch(rf" 4/10 ━{{8}}━{{12}} \d+s {TIME} - loss: 3\.0000 - acc: 0\.3000", last)
    # Like Keras, the final update shows the values it is given.
    bar.update(10, [("loss", 2.0), ("acc", 0.4)])
    assert terminal.getvalue().endswith("loss: 2.0000 - acc: 0.4000\n")


def test_progbar_verbose_2_and_silent(capsys):
    Progbar(target=2, verbose=2, unit_name="sample").update(2, [("loss", 0.5)])
    Progbar(target=2, verbose=0).update(2, [("loss", 0.5)])
    out = capsys.readouterr().out
    assert re.fullmatch(r"2/2 - \d+s - \d+(?:s|ms|us)/sample - loss: 0\.5000\n", out)


def test_progbar_rejects_both_metric_lists():
    with pytest.raises(ValueError, match="stateful_metrics"):
        Progbar(2, stateful_metrics=["a"], stateless_metrics=["b"])


def test_stream_that_cannot_encode_the_bar(monkeypatch):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    Progbar(target=1).update(1)
    stream.flush()
    assert raw.getvalue().decode().startswith("1/1 " + "=" * 20 + " ")


def test_fit_with_verbose_1_costs_no_extra_host_sync(backend_name, capsys):
    from gpukeras import backend as K
    from gpukeras.layers import Dense
    from gpukeras.models import Sequential

    x = np.random.rand(64, 3).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    syncs = {}
    for verbose in (0, 1, 2):
        model = Sequential([Dense(1, input_dim=3)])
        model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
        before = K.host_syncs()
        model.fit(x, y, batch_size=8, epochs=2, verbose=verbose, validation_data=(x, y))
        syncs[verbose] = K.host_syncs() - before
    assert syncs[1] == syncs[0] == syncs[2]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert re.fullmatch(rf"8/8 ━{{20}} \d+s {TIME}( - \w+: [-0-9.e+]+)+", lines[1])
    assert {"loss:", "mae:", "val_loss:", "val_mae:"} <= set(lines[1].split())
    assert not CONTROL.search("\n".join(lines))
