"""Central finite differences in float64, for checking hand-written backward passes.

The implementation is public as ``gpukeras.utils.check_gradients``; these are the names
the tests have always imported.
"""

from __future__ import annotations

from gpukeras.utils._gradient_check import check_gradients as check_layer_gradients
from gpukeras.utils._gradient_check import numerical_gradient

__all__ = ["check_layer_gradients", "numerical_gradient"]
