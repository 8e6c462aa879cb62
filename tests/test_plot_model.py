"""gpukeras.utils.plot_model: text picture always, image with matplotlib, clear errors."""

from __future__ import annotations

import sys

import pytest

import gpukeras as keras
from gpukeras import layers
from gpukeras.utils import plot_model


def small_model():
    return keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(4, activation="relu", name="hidden"),
            layers.Dropout(0.5, name="drop"),
            layers.Dense(2, activation="softmax", name="out"),
        ]
    )


def test_text_picture_top_to_bottom():
    text = plot_model(small_model(), to_file=None)
    boxes = [line.strip("| ").strip() for line in text.splitlines() if line.startswith("|")]
    assert boxes == ["Dense", "Dropout", "Dense"]
    assert text.count("v") == 2  # one arrow between each pair


def test_text_picture_details():
    text = plot_model(
        small_model(),
        to_file=None,
        show_shapes=True,
        show_dtype=True,
        show_layer_names=True,
        show_layer_activations=True,
        show_trainable=True,
    )
    for expected in (
        "hidden (Dense)",
        "Activation: relu",
        "Input shape: (None, 8)",
        "Output shape: (None, 4)",
        "Output shape: (None, 2)",
        "Output dtype: float32",
        "Trainable",
        "drop (Dropout)",
    ):
        assert expected in text
    dropout_box = text.split("drop (Dropout)")[1].split("+")[0]
    assert "Trainable" not in dropout_box and "Activation" not in dropout_box


def test_text_picture_left_to_right():
    text = plot_model(small_model(), to_file=None, rankdir="LR")
    lines = text.splitlines()
    assert len(lines) == 3 and lines[1].count("-->") == 2


def test_txt_file(tmp_path):
    path = tmp_path / "model.txt"
    text = plot_model(small_model(), to_file=str(path), show_shapes=True)
    assert path.read_text(encoding="utf-8") == text + "\n"


def test_png_with_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "model.png"
    result = plot_model(small_model(), to_file=path, show_shapes=True, dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result is None  # an IPython Image only inside IPython
    plot_model(small_model(), to_file=tmp_path / "wide.png", rankdir="LR", dpi=50)
    assert (tmp_path / "wide.png").stat().st_size > 0


def test_image_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ImportError, match=r"gpukeras\[plot\]"):
        plot_model(small_model(), to_file=str(tmp_path / "model.png"))
    assert not (tmp_path / "model.png").exists()
    assert "Dense" in plot_model(small_model(), to_file=None)  # text still works


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rankdir": "BT"}, "rankdir"),
        ({"to_file": "model.gif"}, "to_file"),
        ({"layer_range": ["a", "b"]}, "layer_range"),
        ({"colour": "red"}, "Unrecognized keyword"),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs.setdefault("to_file", None)
    with pytest.raises(ValueError, match=match):
        plot_model(small_model(), **kwargs)


def test_unbuilt_model():
    with pytest.raises(ValueError, match="not yet been built"):
        plot_model(keras.Sequential([layers.Dense(3)]), to_file=None)
