"""Output masks in the loss and metrics, as Keras 3 applies them.

When the model's output carries a mask (``Embedding(mask_zero=True)`` followed by
``return_sequences=True`` layers), masked timesteps count for nothing: the loss
averages over the valid ones only (Keras scales the mask by ``total / valid``),
and metrics average over the valid timesteps.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K


def output_mask(mask: Any, out: Any) -> Any:
    """``mask`` when it covers the output's leading axes (e.g. (N, T) for (N, T, C))."""
    if mask is None or mask.ndim != out.ndim - 1 or tuple(mask.shape) != tuple(out.shape[:-1]):
        return None
    return mask


def timestep_weights(mask: Any, dtype: Any, sample_weight: Any) -> Any:
    """Weights per output element: the mask scaled to keep the mean, times sample weights."""
    weights = mask.astype(dtype)
    weights *= weights.size / (weights.sum() + K.epsilon())
    if sample_weight is not None:
        weights *= sample_weight.reshape((-1,) + (1,) * (weights.ndim - 1))
    return weights


def per_element(fn: Any, y: Any, out: Any) -> Any:
    """``fn``'s per-sample values computed per element of the mask's shape."""
    lead = tuple(out.shape[:-1])
    rows = 1
    for size in lead:
        rows *= size
    flat_y = y.reshape((rows,) + tuple(y.shape[len(lead) :]))
    flat_out = out.reshape((rows,) + tuple(out.shape[len(lead) :]))
    return fn(flat_y, flat_out).reshape(lead)
