"""Which tapes are recording right now; shared by the tape, the tensors and the ops."""

from __future__ import annotations

from typing import Any

# The active tapes, innermost last. Ops test ``if active:`` first, so code run outside
# every tape pays for one list truth test.
active: list[Any] = []
# Non-empty while a backward pass runs: VJPs never record themselves.
paused: list[bool] = []
# How many raw arrays active tapes watch by identity (0 keeps the per-input test short).
watched_arrays = 0


def is_recording() -> bool:
    """Whether an op run now would be recorded (inside a tape, not inside its backward)."""
    return bool(active) and not paused
