"""plot_model: the layer stack as text (always) or as an image (with matplotlib installed).

Keras draws with pydot and Graphviz, a system program pip cannot install; we
draw the same boxes-and-arrows picture with matplotlib (``pip install
gpukeras[plot]``), and write a plain-text picture when ``to_file`` ends in
``.txt`` or is ``None``, which needs nothing.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from gpukeras.utils._plot_graph import graph_plan, grid, is_chain, render_dag_text

_INSTALL_HINT = (
    "plot_model needs matplotlib to draw an image, an optional extra of gpukeras: "
    "`pip install gpukeras[plot]` (or `pip install matplotlib`). "
    "A text picture needs nothing: pass to_file='model.txt' or to_file=None."
)
_IMAGE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")
_RANKDIRS = ("TB", "LR")
# Image layout, in inches: the black title band and each detail line.
_TITLE_H, _LINE_H = 0.42, 0.3


def plot_model(
    model: Any,
    to_file: Any = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = False,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    splines: str = "ortho",
    **kwargs: Any,
) -> Any:
    """Draw the model's layers, one box each, joined by arrows (Keras 3's arguments).

    A functional model is drawn as its graph (layers and ops, an arrow per edge, boxes
    placed rank by rank); its text picture is top to bottom, each box naming its inputs.

    Args:
        model: a built model. Required.
        to_file: where to write: ``.png`` (default), ``.pdf``, ``.svg`` or ``.jpg``
            draw an image (needs matplotlib); ``.txt`` writes the text picture; ``None``
            writes nothing and returns the text. Default ``"model.png"``.
        show_shapes: show each layer's input and output shapes. Default ``False``.
        show_dtype: show each layer's output dtype. Default ``False``.
        show_layer_names: show ``name (Class)`` instead of ``Class``. Default ``False``
            (Keras 3's default).
        rankdir: ``"TB"`` (top to bottom) or ``"LR"`` (left to right). Default ``"TB"``.
        expand_nested: accepted for Keras compatibility; a nested model is drawn as
            one box. Default ``False``.
        dpi: image resolution in dots per inch. Default ``200``.
        show_layer_activations: show the activation of layers that have one.
            Default ``False``.
        show_trainable: mark layers with weights "Trainable" or "Non-trainable".
            Default ``False``.
        splines: accepted for Keras compatibility (Graphviz's edge style); arrows
            are always straight. Default ``"ortho"``.
        **kwargs: none are accepted (``layer_range`` was removed in Keras 3).

    Returns:
        The text picture for ``.txt`` or ``None``; for an image, an IPython
        ``Image`` inside IPython/Jupyter (shown inline, as Keras), else ``None``.

    Raises:
        ValueError: the model is not built; an unknown ``rankdir``, file extension
            or keyword argument.
        ImportError: an image was asked for and matplotlib is not installed (names the
            ``gpukeras[plot]`` extra).
    """
    _check_arguments(model, rankdir, kwargs)
    options = {
        "show_shapes": show_shapes,
        "show_dtype": show_dtype,
        "show_layer_names": show_layer_names,
        "show_layer_activations": show_layer_activations,
        "show_trainable": show_trainable,
    }
    operations, inbound = graph_plan(model)
    labels = [layer_label(layer, **options) for layer in operations]
    if is_chain(inbound):
        picture = render_text(labels, rankdir)
    else:  # a functional graph: boxes by rank, each naming what feeds it
        picture = render_dag_text(labels, inbound, [op.name for op in operations])
    if to_file is None:
        return picture
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension == "txt":
        text = picture
        with open(to_file, "w", encoding="utf-8") as stream:
            stream.write(text + "\n")
        return text
    if extension not in _IMAGE_FORMATS:
        raise ValueError(
            f"`to_file` must end in .txt or one of .{', .'.join(_IMAGE_FORMATS)}. "
            f"Received: to_file={to_file!r}"
        )
    _draw_image(labels, rankdir, to_file, extension, dpi, inbound)
    return _notebook_image(to_file, extension)


def _check_arguments(model: Any, rankdir: Any, kwargs: dict[str, Any]) -> None:
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f'`rankdir` must be "TB" or "LR". Received: rankdir={rankdir!r}')
    if not getattr(model, "built", False):
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` "
            "or by calling the model on a batch of data."
        )


def layer_label(
    layer: Any,
    show_shapes: bool,
    show_dtype: bool,
    show_layer_names: bool,
    show_layer_activations: bool,
    show_trainable: bool,
) -> list[str]:
    """The lines of one layer's box: title, then the details asked for."""
    class_name = type(layer).__name__
    if hasattr(layer, "op_name"):  # an op of a functional graph: Keras names it Add, ...
        class_name = "".join(part.capitalize() for part in layer.op_name.split("_"))
    lines = [f"{layer.name} ({class_name})" if show_layer_names else class_name]
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        lines.append(f"Activation: {_activation_name(activation)}")
    if show_shapes:
        input_shape, output_shape = _shapes(layer)
        lines.append(f"Input shape: {input_shape}")
        lines.append(f"Output shape: {output_shape}")
    if show_dtype:
        lines.append(f"Output dtype: {getattr(layer, 'dtype', None) or '?'}")
    if show_trainable and getattr(layer, "weights", None):
        lines.append("Trainable" if layer.trainable else "Non-trainable")
    return lines


def _activation_name(activation: Any) -> str:
    name = getattr(activation, "name", None) or getattr(activation, "__name__", None)
    return str(name or activation)


def _shapes(layer: Any) -> tuple[str, str]:
    """Keras-style shapes with ``None`` for the batch, ``?`` when unknown."""
    nodes = layer.__dict__.get("_inbound_nodes") or []
    if nodes and nodes[0].input_tensors and nodes[0].output_tensors:  # functional graph
        shapes = [t.shape for t in nodes[0].input_tensors], nodes[0].output_tensors[0].shape
        shown = ", ".join(_format_shape(s) for s in shapes[0])
        return (shown if len(shapes[0]) == 1 else f"[{shown}]"), _format_shape(shapes[1])
    input_shape = getattr(layer, "input_shape", None)
    if input_shape is None:
        return "?", "?"
    try:
        output_shape = layer.compute_output_shape(input_shape)
    except Exception:  # a custom layer without compute_output_shape
        return _format_shape(input_shape), "?"
    return _format_shape(input_shape), _format_shape(output_shape)


def _format_shape(shape: Any) -> str:
    dims = ["None", *("None" if d is None else str(d) for d in tuple(shape)[1:])]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


# -- text -----------------------------------------------------------------------------
def _box(lines: list[str], width: int) -> list[str]:
    edge = "+" + "-" * (width + 2) + "+"
    return [edge, *(f"| {line.ljust(width)} |" for line in lines), edge]


def render_text(labels: list[list[str]], rankdir: str = "TB") -> str:
    """Boxes stacked top to bottom joined by ``v``, or side by side joined by ``-->``."""
    if not labels:
        return "(no layers)"
    if rankdir == "LR":
        return _render_left_to_right(labels)
    width = max(len(line) for lines in labels for line in lines)
    arrow = " " * ((width + 4) // 2) + "v"
    rows: list[str] = []
    for i, lines in enumerate(labels):
        if i:
            rows.append(arrow)
        rows.extend(_box(lines, width))
    return "\n".join(rows)


def _render_left_to_right(labels: list[list[str]]) -> str:
    height = max(len(lines) for lines in labels) + 2
    boxes = []
    for lines in labels:
        width = max(len(line) for line in lines)
        padded = lines + [""] * (height - 2 - len(lines))
        boxes.append(_box(padded, width))
    middle = height // 2
    rows = []
    for row in range(height):
        joint = " --> " if row == middle else "     "
        rows.append(joint.join(box[row] for box in boxes).rstrip())
    return "\n".join(rows)


# -- image ----------------------------------------------------------------------------
def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    matplotlib.use("Agg", force=False)  # draw to files; never needs a display
    import matplotlib.pyplot as pyplot

    return pyplot


def _draw_image(
    labels: list[list[str]], rankdir: str, path: str, extension: str, dpi: int, inbound: list
):
    """One black-titled box per layer, as Keras's pictures look, with arrows between:
    placed rank by rank (``_plot_graph.grid``), an arrow for each edge of the graph."""
    pyplot = _pyplot()
    places = grid(inbound)
    count = 1 + max((rank for rank, _ in places), default=0)
    wide = 1 + max((column for _, column in places), default=0)
    lines_most = max((len(lines) for lines in labels), default=1)
    chars_most = max((len(line) for lines in labels for line in lines), default=10)
    box_w, box_h = 0.12 * chars_most + 0.6, _TITLE_H + _LINE_H * (lines_most - 1) + 0.15
    gap = 0.6
    across = rankdir == "LR"
    fig_w = count * (box_w + gap) if across else wide * (box_w + gap) + 0.4
    fig_h = wide * (box_h + gap) + 0.4 if across else count * (box_h + gap)
    figure = pyplot.figure(figsize=(max(fig_w, 1.0), max(fig_h, 1.0)))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, max(fig_w, 1.0))
    axes.set_ylim(max(fig_h, 1.0), 0)  # y grows downwards, like the text picture
    axes.axis("off")
    centres = []
    for lines, (rank, column) in zip(labels, places):
        along, side = rank * (box_w + gap) + gap / 2, column * (box_h + gap) + 0.2
        if not across:
            along, side = rank * (box_h + gap) + gap / 2, column * (box_w + gap) + 0.2
        x, y = (along, side) if across else (side, along)
        _draw_box(axes, x, y, box_w, box_h, lines)
        centres.append((x, y))
    edges = [(centres[s], centres[t]) for t, sources in enumerate(inbound) for s in sources]
    for (x0, y0), (x1, y1) in edges:
        start = (x0 + box_w, y0 + box_h / 2) if across else (x0 + box_w / 2, y0 + box_h)
        end = (x1, y1 + box_h / 2) if across else (x1 + box_w / 2, y1)
        axes.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "lw": 1.2})
    try:
        figure.savefig(path, format=extension, dpi=dpi)
    finally:
        pyplot.close(figure)


def _draw_box(axes: Any, x: float, y: float, width: float, height: float, lines: list[str]):
    from matplotlib.patches import Rectangle

    axes.add_patch(Rectangle((x, y), width, height, facecolor="white", edgecolor="black"))
    axes.add_patch(Rectangle((x, y), width, _TITLE_H, facecolor="black", edgecolor="black"))
    centre = x + width / 2
    axes.text(
        centre,
        y + _TITLE_H / 2,
        lines[0],
        color="white",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        family="monospace",
    )
    for row, line in enumerate(lines[1:]):
        axes.text(
            centre,
            y + _TITLE_H + _LINE_H * row + _LINE_H / 2 + 0.05,
            line,
            ha="center",
            va="center",
            fontsize=9,
            family="monospace",
        )


def _notebook_image(path: str, extension: str) -> Any:
    """IPython's Image of the file inside IPython (so a notebook shows it), else None."""
    if "IPython" not in sys.modules or extension not in ("png", "jpg", "jpeg"):
        return None
    try:
        from IPython.display import Image
    except ImportError:
        return None
    return Image(filename=path)
