"""verbose='auto' draws a live bar where lines redraw (a terminal or a notebook), else 2."""

from __future__ import annotations

import io
import sys
import types

import numpy as np
import pytest

import gpukeras as keras
from gpukeras.layers import Dense
from gpukeras.models import Sequential


class Terminal(io.StringIO):
    def isatty(self):
        return True


class OutStream(io.StringIO):
    """Stands in for a Jupyter kernel's stdout (ipykernel.iostream.OutStream)."""


OutStream.__module__ = "ipykernel.iostream"


def fit_output(monkeypatch, stream, kernel=False):
    if kernel:
        monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    model = Sequential([keras.Input((2,)), Dense(1)])
    model.compile("sgd", "mse")
    monkeypatch.setattr(sys, "stdout", stream)
    model.fit(np.ones((8, 2), "float32"), np.ones((8, 1), "float32"), batch_size=4, epochs=2)
    monkeypatch.undo()
    return stream.getvalue()


PLAIN_EPOCH_LINE = "2/2 - "  # verbose=2: "steps/steps - time - ..."


@pytest.mark.parametrize(
    ("stream", "kernel", "live"),
    [(Terminal(), False, True), (OutStream(), True, True), (io.StringIO(), False, False),
     (io.StringIO(), True, False)],
    ids=["terminal", "notebook", "pipe", "kernel-writing-to-a-file"],
)  # fmt: skip
def test_auto_is_1_on_a_terminal_and_in_a_notebook_else_2(monkeypatch, stream, kernel, live):
    output = fit_output(monkeypatch, stream, kernel)
    assert ("\r" in output) is live
    assert (PLAIN_EPOCH_LINE in output) is not live
