"""model.summary(): the Keras 3 table of layers, output shapes and parameter counts."""

from __future__ import annotations

from typing import Any


def print_summary(model: Any, line_length: int | None = None, print_fn: Any = None) -> None:
    """Print ``model``'s summary through ``print_fn`` (default ``print``)."""
    emit = print_fn or print
    for line in summary_lines(model, line_length or 80):
        emit(line)


def summary_lines(model: Any, width: int) -> list[str]:
    graph_rows = getattr(model, "_summary_rows", None)
    header = ("Layer (type)", "Output Shape", "Param #")
    if graph_rows is None:
        rows = [_layer_row(layer) for layer in model.layers]
    else:  # a functional model: its operations, and Keras's "Connected to" unless a chain
        rows = graph_rows()
        header = header + ("Connected to",) if rows and len(rows[0]) == 4 else header
    widths = _column_widths(width, len(header))
    lines = [f'Model: "{model.name}"']
    lines.append(_rule("┏", "┳", "┓", "━", widths))
    lines.append(_row(header, widths, "┃"))
    lines.append(_rule("┡", "╇", "┩", "━", widths))
    for i, row in enumerate(rows):
        lines.extend(_row(row, widths, "│").split("\n"))
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


def _column_widths(width: int, columns: int = 3) -> tuple[int, ...]:
    """Keras's column positions: 45/75/100% of the width, or 30/56/74/100% with four."""
    positions = (0.45, 0.75) if columns == 3 else (0.3, 0.56, 0.74)
    edges = [int(width * p) for p in positions]
    widths = [edges[0]] + [b - a for a, b in zip(edges, edges[1:])]
    return (*widths, width - edges[-1] - columns - 1)


def _rule(left: str, middle: str, right: str, fill: str, widths: tuple[int, ...]) -> str:
    return left + middle.join(fill * w for w in widths) + right


def _row(cells: tuple[str, ...], widths: tuple[int, ...], bar: str) -> str:
    """One table row; a cell holding several lines (a functional model's list of output
    shapes or of connections) takes as many lines, the other cells padded below."""
    cells_lines = [cell.split("\n") for cell in cells]
    height = max(len(lines) for lines in cells_lines)
    out = []
    for line in range(height):
        parts = [lines[line] if line < len(lines) else "" for lines in cells_lines]
        out.append(_one_line(tuple(parts), widths, bar, first=line == 0))
    return "\n".join(out)


def _one_line(cells: tuple[str, ...], widths: tuple[int, ...], bar: str, first: bool) -> str:
    parts = [f" {cells[0]}"[: widths[0]].ljust(widths[0])]
    parts.append(f" {cells[1]}"[: widths[1]].ljust(widths[1]))
    count = f"{cells[2]} " if first or cells[2] else ""
    parts.append(count[-widths[2] :].rjust(widths[2]))
    if len(cells) > 3:
        parts.append(f" {cells[3]}"[: widths[3]].ljust(widths[3]))
    return bar + bar.join(parts) + bar
