"""The learning rates the schedule callbacks log and change: the optimizer's own, or each
sub-optimizer's for a ``MultiOptimizer`` (Keras 3.15 tells it by its ``optimizers``)."""

from __future__ import annotations

from typing import Any


def optimizers_with_rates(optimizer: Any) -> list[tuple[Any, str]]:
    """``(optimizer, log key)`` pairs: ``learning_rate``, or ``learning_rate_<name>`` for each
    sub-optimizer of a MultiOptimizer (which has no rate of its own)."""
    if hasattr(optimizer, "optimizers"):
        return [(inner, f"learning_rate_{inner.name}") for inner in optimizer.optimizers]
    return [(optimizer, "learning_rate")]


def learning_rate_logs(optimizer: Any) -> dict[str, float]:
    """The epoch-end log entries for the rates :func:`optimizers_with_rates` lists."""
    return {key: float(inner.learning_rate) for inner, key in optimizers_with_rates(optimizer)}
