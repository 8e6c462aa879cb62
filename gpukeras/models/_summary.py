"""model.summary(): the Keras 3 table of layers, output shapes and parameter counts."""

from __future__ import annotations

from typing import Any


def print_summary(model: Any, line_length: int | None = None, print_fn: Any = None) -> None:
    """Print ``model``'s summary through ``print_fn`` (default ``print``)."""
    emit = print_fn or print
    for line in summary_lines(model, line_length or 80):
        emit(line)


def summary_lines(model: Any, width: int) -> list[str]:
    widths = _column_widths(width)
    rows = [_layer_row(layer) for layer in model.layers]
    lines = [f'Model: "{model.name}"']
    lines.append(_rule("┏", "┳", "┓", "━", widths))
    lines.append(_row(("Layer (type)", "Output Shape", "Param #"), widths, "┃"))
    lines.append(_rule("┡", "╇", "┩", "━", widths))
    for i, row in enumerate(rows):
        lines.append(_row(row, widths, "│"))
        if i < len(rows) - 1:
            lines.append(_rule("├", "┼", "┤", "─", widths))
    lines.append(_rule("└", "┴", "┘", "─", widths))
    # every weight once: a subclassed model's own variables, a layer held twice
    total = sum(int(w_size(w)) for w in model.weights)
    trainable = sum(int(w_size(w)) for w in model.trainable_weights) if model.built else 0
    lines.append(f" Total params: {_params(total)}")
    lines.append(f" Trainable params: {_params(trainable)}")
    lines.append(f" Non-trainable params: {_params(total - trainable)}")
    return lines


def w_size(variable: Any) -> int:
    size = 1
    for d in variable.shape:
        size *= d
    return size


def _count(layer: Any) -> int:
    return layer.count_params() if layer.built else 0


def _layer_row(layer: Any) -> tuple[str, str, str]:
    if layer.built and layer.input_shape is not None:
        shape = layer.compute_output_shape(layer.input_shape)
        shown = "(" + ", ".join("None" if d is None else str(d) for d in (None, *shape[1:])) + ")"
    else:
        shown = "?"
    params = f"{_count(layer):,}" if layer.built else "0 (unbuilt)"
    return (f"{layer.name} ({type(layer).__name__})", shown, params)


def _params(count: int) -> str:
    size = count * 4.0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{count:,} ({size:.2f} {unit})"
        size /= 1024
    return f"{count:,}"


def _column_widths(width: int) -> tuple[int, int, int]:
    first = int(width * 0.45)
    second = int(width * 0.3)
    return first, second, width - first - second - 4


def _rule(left: str, middle: str, right: str, fill: str, widths: tuple[int, ...]) -> str:
    return left + middle.join(fill * w for w in widths) + right


def _row(cells: tuple[str, ...], widths: tuple[int, ...], bar: str) -> str:
    first, second, third = widths
    a = f" {cells[0]}"[:first].ljust(first)
    b = f" {cells[1]}"[:second].ljust(second)
    c = f"{cells[2]} "[-third:].rjust(third)
    return f"{bar}{a}{bar}{b}{bar}{c}{bar}"
