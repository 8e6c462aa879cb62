"""History.plot / gpukeras.utils.plot_history: a PNG with matplotlib, a clear error without it."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from gpukeras.callbacks import History
from gpukeras.utils import plot_history
from gpukeras.utils._plot import _curves
from tests.callbacks_support import tiny_data, tiny_model

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_curves_loss_first_and_val_joins_its_metric():
    history = {"accuracy": [1], "val_accuracy": [1], "loss": [1], "val_loss": [1], "val_x": [1]}
    assert _curves(history) == ["loss", "accuracy", "x"]


@pytest.mark.skipif(not HAVE_MATPLOTLIB, reason="matplotlib (the plot extra) is not installed")
def test_history_plot_writes_a_png(tmp_path):
    x, y = tiny_data()
    history = tiny_model().fit(x, y, epochs=3, verbose=0, validation_split=0.25)
    path = history.plot(tmp_path / "curves.png")
    assert path == str(tmp_path / "curves.png")
    data = (tmp_path / "curves.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    # Two stacked panels (loss, accuracy) of 6.4 x 2.6 inches at 100 dpi.
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (640, 520)


@pytest.mark.skipif(not HAVE_MATPLOTLIB, reason="matplotlib (the plot extra) is not installed")
def test_plot_history_accepts_the_dict(tmp_path):
    plot_history({"loss": [1.0, 0.5, 0.25]}, str(tmp_path / "d.png"), dpi=50)
    assert (tmp_path / "d.png").read_bytes().startswith(PNG_SIGNATURE)


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ImportError, match=r"pip install gpukeras\[plot\]"):
        plot_history({"loss": [1.0]}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_empty_history_and_bad_type(tmp_path):
    with pytest.raises(ValueError, match="no values to plot"):
        History().plot(tmp_path / "x.png")
    with pytest.raises(TypeError, match="Received: history=list"):
        plot_history([1, 2], tmp_path / "x.png")
