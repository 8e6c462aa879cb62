"""summary() and plot_model of functional models: the "Connected to" column, the DAG."""

from __future__ import annotations

import pytest

import gpukeras as keras
from gpukeras import layers, ops
from gpukeras.utils import _plot_model, plot_model


def branching_model():
    keras.utils.clear_session()  # the op is named "add", as the first one in a session
    x = keras.Input(shape=(4,), name="x")
    a = layers.Dense(3, name="a")(x)
    b = layers.Dense(3, name="b")(x)
    return keras.Model(x, layers.Dense(1, name="out")(ops.add(a, b)), name="branches")


def chain_model():
    x = keras.Input(shape=(4,), name="x")
    return keras.Model(x, layers.Dense(1, name="out")(layers.Dense(3, name="a")(x)))


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


def test_summary_of_a_graph_has_keras_connected_to_column():
    lines = _summary(branching_model())
    assert "Connected to" in lines[2]
    rows = {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}
    assert rows["x (InputLayer)"].split("│")[4].strip() == "-"
    assert rows["a (Dense)"].split("│")[4].strip() == "x[0][0]"
    add_line = lines.index(rows["add (Add)"])
    assert rows["add (Add)"].split("│")[4].strip() == "a[0][0],"
    assert lines[add_line + 1].split("│")[4].strip() == "b[0][0]"  # one a line, as Keras
    assert rows["out (Dense)"].split("│")[2].strip() == "(None, 1)"
    assert rows["out (Dense)"].split("│")[3].strip() == "4"
    assert " Total params: 34 (136.00 B)" in lines


def test_summary_of_a_chain_has_no_connected_to_column():
    lines = _summary(chain_model())
    assert "Connected to" not in lines[2]
    assert sum(line.startswith("│") for line in lines) == 3


def test_summary_lists_a_shared_layer_once_with_both_calls():
    x = keras.Input(shape=(4,), name="x")
    shared = layers.Dense(4, name="shared")
    model = keras.Model(x, shared(shared(x)))
    rows = [line for line in _summary(model) if line.startswith("│")]
    assert len(rows) == 3 and rows[2].split("│")[1].strip() == ""  # shared's second line
    assert rows[1].split("│")[4].strip() == "x[0][0],"
    assert rows[2].split("│")[4].strip() == "shared[0][0]"


def test_plot_model_text_draws_the_graph_rank_by_rank():
    text = plot_model(branching_model(), to_file=None, show_layer_names=True)
    lines = text.splitlines()
    side_by_side = [line for line in lines if "a (Dense)" in line]
    assert len(side_by_side) == 1 and "b (Dense)" in side_by_side[0]
    assert "<- a, b" in text and "<- add" in text
    assert text.index("x (InputLayer)") < text.index("a (Dense)") < text.index("add (Add)")


def test_plot_model_of_a_chain_is_the_plain_stack():
    text = plot_model(chain_model(), to_file=None)
    assert "<-" not in text and text.count("v") == 2


class _Recorder:
    """Stands in for matplotlib: records the boxes and arrows plot_model draws."""

    def __init__(self):
        self.arrows, self.boxes = [], []

    def figure(self, figsize):
        return self

    def add_axes(self, rect):
        return self

    def annotate(self, text, xy, xytext, arrowprops):
        self.arrows.append((xytext, xy))

    def set_xlim(self, *args):
        pass

    set_ylim = axis = set_xlim

    def savefig(self, path, format, dpi):
        pass

    def close(self, figure):
        pass


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_plot_model_image_draws_one_arrow_per_edge(monkeypatch, tmp_path, rankdir):
    recorder = _Recorder()
    monkeypatch.setattr(_plot_model, "_pyplot", lambda: recorder)
    monkeypatch.setattr(
        _plot_model, "_draw_box", lambda axes, x, y, w, h, lines: recorder.boxes.append((x, y))
    )
    plot_model(branching_model(), to_file=str(tmp_path / "graph.png"), rankdir=rankdir)
    assert len(recorder.boxes) == 5 and len(set(recorder.boxes)) == 5
    assert len(recorder.arrows) == 5  # x->a, x->b, a->add, b->add, add->out
    along = 0 if rankdir == "LR" else 1
    assert all(end[along] > start[along] for start, end in recorder.arrows)


def test_plot_model_png_of_a_graph(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "graph.png"
    plot_model(branching_model(), to_file=path, show_shapes=True, dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
