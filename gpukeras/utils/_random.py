"""One call that makes a whole run reproducible."""

from __future__ import annotations

import random

import numpy

from gpukeras.backend import random as backend_random


def set_random_seed(seed: int) -> None:
    """Seed every random stream a gpukeras run draws from.

    Seeds Python's ``random``, NumPy's global generator (user code such as
    ``np.random.shuffle`` on the data) and gpukeras's own streams
    (:func:`gpukeras.backend.random.seed`), which make initial weights,
    shuffling in ``fit`` and dropout masks reproducible.

    Args:
        seed: a non-negative integer. No default: a seed must be chosen.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(f"Expected `seed` to be a non-negative integer. Received: seed={seed!r}")
    seed = int(seed)
    random.seed(seed)
    # NumPy's legacy global generator only takes seeds below 2**32.
    numpy.random.seed(seed % 2**32)
    backend_random.seed(seed)
