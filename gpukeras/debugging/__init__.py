"""Opt-in checks for finding where bad numbers come from.

``gpukeras.debugging.enable_check_numerics()`` makes ``fit``, ``evaluate`` and
``predict`` check every batch they read (inputs, targets, sample weights) for
NaN and infinity before it is used, and raise a ValueError naming the first
batch, argument, row and column that hold one. Each checked batch costs one
device-to-host transfer, so it is off by default (as in Keras, data is then used
as given). The names follow ``tf.debugging.enable_check_numerics``.
"""

from gpukeras.debugging._check_numerics import (
    disable_check_numerics,
    enable_check_numerics,
    is_check_numerics_enabled,
)

__all__ = ["disable_check_numerics", "enable_check_numerics", "is_check_numerics_enabled"]
