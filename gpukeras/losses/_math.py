"""Numerically stable pieces shared by the losses (array code written once for NumPy/CuPy)."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K


def log_softmax(logits: Any) -> Any:
    """``log(softmax(logits))`` over the last axis, without overflow."""
    xp = K.get_array_module(logits)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: Any) -> Any:
    """Softmax over the last axis."""
    xp = K.get_array_module(logits)
    return xp.exp(log_softmax(logits))


def sigmoid(logits: Any) -> Any:
    """The logistic function, written through tanh so no exp overflows."""
    xp = K.get_array_module(logits)
    return 0.5 * (1.0 + xp.tanh(0.5 * logits))


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))`` without overflow."""
    xp = K.get_array_module(x)
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def clip_probabilities(p: Any) -> tuple[Any, Any]:
    """``p`` clipped to ``[epsilon, 1 - epsilon]`` and the mask where the clip is inactive.

    The clip has zero gradient outside the range, so gradients are multiplied by the mask.
    """
    xp = K.get_array_module(p)
    low, high = K.epsilon(), 1.0 - K.epsilon()
    inside = (p >= low) & (p <= high)
    return xp.clip(p, low, high), inside


def one_hot(labels: Any, num_classes: int, dtype: Any) -> Any:
    """``labels`` (integers) as one-hot rows along a new last axis."""
    xp = K.get_array_module(labels)
    return (labels[..., None] == xp.arange(num_classes)).astype(dtype)
