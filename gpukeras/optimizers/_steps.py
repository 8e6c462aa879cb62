"""The step number ``t`` an update uses (bias corrections, warmup, Adafactor's decay)."""

from __future__ import annotations

from typing import Any


def next_step(optimizer: Any) -> int:
    """``t`` of the update being applied: 1 for the first.

    With ``gradient_accumulation_steps`` the base class counts every ``apply`` call in
    ``_iterations`` and the updates in ``_updates``; ``t`` counts updates, as Keras's does.
    Where the base class has no ``_updates``, every call is an update.
    """
    return getattr(optimizer, "_updates", optimizer._iterations) + 1
