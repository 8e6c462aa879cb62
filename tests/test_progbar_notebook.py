"""Progress bars in a Jupyter notebook: carriage-return redraws, no ANSI colour codes.

A notebook is recognised by its stdout (an ipykernel ``OutStream``), not merely by
ipykernel being imported: a kernel whose output was redirected to a file writes
plain lines like any file.
"""

from __future__ import annotations

import io
import sys
import types

import pytest

from gpukeras.callbacks._progbar_logger import Progbar, ProgbarLogger, _display_mode

ANSI = "\x1b"


class OutStream(io.StringIO):
    """Stands in for ipykernel.iostream.OutStream: not a tty, lives in ipykernel."""

    def isatty(self):
        return False


OutStream.__module__ = "ipykernel.iostream"


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def kernel(monkeypatch):
    """ipykernel imported, as inside a Jupyter kernel."""
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))


def notebook_stdout(monkeypatch) -> OutStream:
    """Make stdout a notebook's. Done in the test body: pytest resets sys.stdout after setup."""
    stream = OutStream()
    monkeypatch.setattr(sys, "stdout", stream)
    return stream


def draw_three_steps(progbar: Progbar) -> None:
    for step in (1, 2):
        progbar.update(step, [("loss", 0.5)])
    progbar.update(3, [("loss", 0.25)], finalize=True)


def test_modes(kernel, monkeypatch):
    monkeypatch.setattr(sys, "stdout", OutStream())
    assert _display_mode() == "notebook"
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # kernel output sent to a file
    assert _display_mode() == "plain"
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert _display_mode() == "terminal"


def test_notebook_redraws_with_carriage_returns_and_no_colours(kernel, monkeypatch):
    notebook = notebook_stdout(monkeypatch)
    draw_three_steps(Progbar(3, interval=0))
    out = notebook.getvalue()
    assert out.count("\r") == 3  # every draw returns to the start of the line
    assert ANSI not in out
    assert out.endswith("\n") and out.count("\n") == 1
    assert "3/3 ━━━━━━━━━━━━━━━━━━━━" in out and "loss: 0.2500" in out


def test_terminal_keeps_its_colours(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    draw_three_steps(Progbar(3, interval=0))
    assert ANSI in terminal.getvalue() and "\r" in terminal.getvalue()


def test_kernel_with_output_in_a_file_gets_plain_lines(kernel, monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(sys, "stdout", log)
    draw_three_steps(Progbar(3, interval=0))
    out = log.getvalue()
    assert "\r" not in out and ANSI not in out and out.count("\n") == 1


def test_progbar_logger_in_a_notebook(kernel, monkeypatch):
    notebook = notebook_stdout(monkeypatch)
    logger = ProgbarLogger()
    logger.set_params({"verbose": 1, "epochs": 2, "steps": 2})
    logger.on_train_begin()
    for epoch in range(2):
        logger.on_epoch_begin(epoch)
        for batch in range(2):
            logger.progbar.interval = 0  # draw every batch
            logger.on_train_batch_end(batch, {"loss": 0.5})
        logger.on_epoch_end(epoch, {"loss": 0.25})
    logger.on_train_end()
    out = notebook.getvalue()
    assert ANSI not in out and "\r" in out
    lines = out.split("\n")
    assert lines[0] == "Epoch 1/2" and "Epoch 2/2" in lines
    finals = [line.rsplit("\r", 1)[-1] for line in lines if "\r" in line]
    assert len(finals) == 2 and all(f.startswith("2/2 ") for f in finals)
