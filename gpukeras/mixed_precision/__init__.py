"""Mixed precision: compute in float16/bfloat16, keep float32 weights (Keras 3 names).

``set_global_policy('mixed_float16')`` makes layers created afterwards compute in float16
while their variables (the master weights the optimizer updates) stay float32. With a
float16 policy, ``compile`` wraps the optimizer in a :class:`LossScaleOptimizer` (as Keras
does with ``auto_scale_loss=True``) so small gradients survive float16.
"""

from gpukeras.mixed_precision._loss_scale_optimizer import LossScaleOptimizer
from gpukeras.mixed_precision._policy import Policy, global_policy, set_global_policy

DTypePolicy = Policy

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "global_policy", "set_global_policy"]
