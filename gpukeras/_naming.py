"""Keras-style names: snake_case class names and unique defaults (dense, dense_1, ...).

Shared by layers, models and optimizers; `utils.clear_session` resets the counters.
"""

from __future__ import annotations

import re
from collections import defaultdict

_counts: dict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    """Keras's rule: ``'Conv2D'`` -> ``'conv2d'``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """``base`` the first time, then ``base_1``, ``base_2``, ..."""
    count = _counts[base]
    _counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def reset_names() -> None:
    """Forget the names handed out (``gpukeras.utils.clear_session``)."""
    _counts.clear()
