"""Reverse-mode autodiff: a tape that records ``gpukeras.ops`` only when a gradient is needed.

Outside a ``GradientTape`` (or ``value_and_grad``, or the training step, which opens a
tape) ops return plain arrays. Inside one, an op whose input needs a gradient returns a
:class:`Tensor` that remembers its inputs and VJP; ``tape.gradient`` walks that graph
backwards and frees it. Built-in layers join as one node each through :func:`record`.
"""

from gpukeras.autodiff._errors import NonDifferentiableError, OpShapeError, TracedValueError
from gpukeras.autodiff._gradient_tape import GradientTape
from gpukeras.autodiff._node import needs_gradient, record, unwrap
from gpukeras.autodiff._scope import current_scope, scope
from gpukeras.autodiff._state import is_recording
from gpukeras.autodiff._tensor import Tensor
from gpukeras.autodiff._value_and_grad import value_and_grad

__all__ = [
    "GradientTape",
    "NonDifferentiableError",
    "OpShapeError",
    "Tensor",
    "TracedValueError",
    "current_scope",
    "is_recording",
    "needs_gradient",
    "record",
    "scope",
    "unwrap",
    "value_and_grad",
]
