"""``keras.src.dtype_policies.dtype_policy`` for the Keras suite: gpukeras keeps the global dtype
policy in ``gpukeras.mixed_precision`` (``keras.config`` names it as Keras 3 does)."""

from gpukeras.config import dtype_policy, set_dtype_policy
from gpukeras.mixed_precision import DTypePolicy

__all__ = ["DTypePolicy", "dtype_policy", "set_dtype_policy"]
