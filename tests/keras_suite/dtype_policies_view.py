"""``keras.src.dtype_policies`` for the Keras suite (see dtype_policy_view.py)."""

from gpukeras.mixed_precision import DTypePolicy
from tests.keras_suite import dtype_policy_view as dtype_policy

__all__ = ["DTypePolicy", "dtype_policy"]
