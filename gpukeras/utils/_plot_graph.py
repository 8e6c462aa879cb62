"""The picture's graph for plot_model: which boxes, which arrows, where each box goes.

A Sequential (or subclassed) model is a chain: its layers in order, each fed by the one
before. A functional model is its graph's operations (layers and ops) with an arrow from
each node's inputs to it. Boxes are placed by *rank*, the longest path from an input, so
every arrow points down (or right); boxes of one rank sit side by side.
"""

from __future__ import annotations

from typing import Any


def graph_plan(model: Any) -> tuple[list[Any], list[list[int]]]:
    """``(operations, inbound)``: ``inbound[i]`` lists the boxes with an arrow into box i."""
    graph = getattr(model, "_graph", None)
    if graph is None:
        layers = list(model.layers)
        return layers, [[i - 1] if i else [] for i in range(len(layers))]
    operations = list(graph.operations)
    index = {id(op): i for i, op in enumerate(operations)}
    in_graph = {id(node) for node in graph.nodes}
    inbound: list[list[int]] = [[] for _ in operations]
    for node in graph.nodes:
        if id(node) not in in_graph or node.is_input:
            continue
        target = index[id(node.operation)]
        for tensor in node.input_tensors:
            source = index.get(id(tensor._keras_history.operation))
            if source is not None and source not in inbound[target]:
                inbound[target].append(source)
    return operations, inbound


def is_chain(inbound: list[list[int]]) -> bool:
    return all(sources == ([i - 1] if i else []) for i, sources in enumerate(inbound))


def ranks(inbound: list[list[int]]) -> list[int]:
    """Each box's rank: 0 for inputs, else one more than its deepest source."""
    found: list[int] = []
    for sources in inbound:  # operations come in topological order
        found.append(1 + max((found[s] for s in sources if s < len(found)), default=-1))
    return found


def grid(inbound: list[list[int]]) -> list[tuple[int, int]]:
    """``(rank, column)`` of each box: columns in order within each rank."""
    placed, taken = [], {}
    for rank in ranks(inbound):
        column = taken.get(rank, 0)
        taken[rank] = column + 1
        placed.append((rank, column))
    return placed


def render_dag_text(labels: list[list[str]], inbound: list[list[int]], names: list[str]) -> str:
    """Boxes rank by rank (side by side within a rank), each naming the boxes that feed it."""
    from gpukeras.utils._plot_model import _box

    decorated = [
        lines + ([f"<- {', '.join(names[s] for s in sources)}"] if sources else [])
        for lines, sources in zip(labels, inbound)
    ]
    by_rank: dict[int, list[int]] = {}
    for i, rank in enumerate(ranks(inbound)):
        by_rank.setdefault(rank, []).append(i)
    rows: list[str] = []
    for rank in sorted(by_rank):
        members = [decorated[i] for i in by_rank[rank]]
        height = max(len(lines) for lines in members)
        boxes = [
            _box(lines + [""] * (height - len(lines)), max(len(x) for x in lines))
            for lines in members
        ]
        if rows:
            arrows = ((" " * (len(box[0]) // 2) + "v").ljust(len(box[0])) for box in boxes)
            rows.append("   ".join(arrows).rstrip())
        rows.extend("   ".join(box[row] for box in boxes).rstrip() for row in range(height + 2))
    return "\n".join(rows)
