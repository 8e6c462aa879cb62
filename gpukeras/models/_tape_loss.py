"""The compiled loss on the tape: a user's loss through ``gpukeras.ops``, a built-in one
as one node whose gradient is its hand-written ``per_sample_grad``.

Both give the same number the fused step computes: Keras 3's ``sum_over_batch_size``
(the per-element losses, times the sample weights, summed and divided by their count),
times ``compile(loss_weights=...)``.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.losses._loss import Loss, LossFunctionWrapper
from gpukeras.models import _masking


def has_hand_gradient(loss: Any) -> bool:
    """Whether ``loss`` brings its own gradient (every built-in loss, and a user's loss
    that implements ``per_sample_grad``), so the tape need not trace it."""
    if isinstance(loss, LossFunctionWrapper):
        return getattr(loss.fn, "per_sample_grad", None) is not None
    cls = type(loss)
    return cls.per_sample_grad is not Loss.per_sample_grad or cls._call_grad is not Loss._call_grad


def loss_on_tape(
    loss: Any, loss_weight: float, y: Any, out: Any, sample_weight: Any, mask: Any
) -> Any:
    """The batch loss of ``out`` (a Tensor while recording), differentiable w.r.t. ``out``."""
    if has_hand_gradient(loss):
        return _hand_gradient_node(loss, loss_weight, y, out, sample_weight, mask)
    return _traced(loss, loss_weight, y, out, sample_weight, mask)


# -- a loss with a hand-written gradient: one node ----------
def _hand_gradient_node(
    loss: Any, loss_weight: float, y: Any, out: Any, sample_weight: Any, mask: Any
) -> Any:
    from gpukeras import autodiff

    pred = autodiff.unwrap(out)
    scale = loss_weight / pred.shape[0]
    if mask is not None:
        weights = _masking.timestep_weights(mask, pred.dtype, sample_weight)
        per_sample = (loss.values(y, pred) * weights).reshape(pred.shape[0], -1).mean(axis=1)
    else:
        per_sample = loss.per_sample(y, pred)
        if sample_weight is not None:
            per_sample = per_sample * sample_weight
    value = per_sample.sum() * scale

    def vjp(grad: Any) -> list[Any]:
        # d(value)/d(out), as the fused step's non-fused branch computes it, times the seed
        g = loss.per_sample_grad(y, pred)
        g *= scale
        if mask is not None:
            g *= _masking.timestep_weights(mask, g.dtype, sample_weight)[..., None]
        elif sample_weight is not None:
            g *= sample_weight.reshape((-1,) + (1,) * (g.ndim - 1))
        return [g * grad.astype(g.dtype)]

    return autodiff.record(value, [out], vjp, name=f"loss {loss.name!r}")


# -- a user's loss: traced op by op ----------
def _traced(loss: Any, loss_weight: float, y: Any, out: Any, sample_weight: Any, mask: Any) -> Any:
    from gpukeras import autodiff, ops

    dtype = autodiff.unwrap(out).dtype
    y_true = K.to_device(y)
    if y_true.dtype != dtype and not getattr(loss, "sparse_targets", False):
        y_true = y_true.astype(dtype)
    y_true, y_pred = _same_rank(y_true, out)
    with autodiff.scope(loss.name):
        try:
            values = _user_values(loss, y_true, y_pred)
        except autodiff.TracedValueError as error:
            raise autodiff.TracedValueError(f"Loss {loss.name!r}: {error}") from None
        if not isinstance(values, autodiff.Tensor) and autodiff.is_recording():
            raise TypeError(
                f"Loss {loss.name!r} returned a value that does not depend on y_pred through "
                "gpukeras.ops, so it has no gradient and cannot train the model. Write it with "
                "gpukeras.ops (e.g. ops.mean(ops.square(y_true - y_pred), axis=-1)). "
                f"Received: a {type(values).__name__}"
            )
        weights = _weights(values, sample_weight, mask, dtype)
        reduced = _reduce(loss.reduction, values, weights)
        if loss_weight != 1.0:
            reduced = reduced * loss_weight
        return ops.cast(reduced, dtype) if _dtype_of(reduced) != dtype else reduced


def _user_values(loss: Any, y_true: Any, y_pred: Any) -> Any:
    if isinstance(loss, LossFunctionWrapper):
        return loss.fn(y_true, y_pred, **loss._fn_kwargs)
    return loss.call(y_true, y_pred)


def _same_rank(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Keras's ``squeeze_or_expand_to_same_rank`` for a rank gap of one unit axis."""
    from gpukeras import ops

    true_rank, pred_rank = len(y_true.shape), len(y_pred.shape)
    if true_rank == pred_rank + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    elif pred_rank == true_rank + 1 and y_pred.shape[-1] == 1:
        y_pred = ops.squeeze(y_pred, axis=-1)
    return y_true, y_pred


def _weights(values: Any, sample_weight: Any, mask: Any, dtype: Any) -> Any:
    """Per-element weights for ``values`` (raw arrays: no gradient flows into them)."""
    shape = tuple(values.shape)
    if mask is not None and tuple(mask.shape) == shape:
        return _masking.timestep_weights(mask, dtype, sample_weight)
    if sample_weight is None:
        return None
    weights = K.to_device(sample_weight).astype(dtype)
    if not shape:
        return weights.mean()  # a loss that reduced the batch itself
    return weights.reshape((-1,) + (1,) * (len(shape) - 1))


def _reduce(reduction: Any, values: Any, weights: Any) -> Any:
    from gpukeras import ops

    weighted = values if weights is None else values * weights
    if reduction == "sum":
        return ops.sum(weighted)
    if reduction == "mean_with_sample_weight" and weights is not None:
        full = K.array_module().broadcast_to(weights, tuple(values.shape))
        return ops.sum(weighted) / full.sum()
    size = 1
    for d in values.shape:
        size *= int(d)
    return ops.sum(weighted) / float(max(size, 1))


def _dtype_of(x: Any) -> Any:
    from gpukeras import autodiff

    return autodiff.unwrap(x).dtype
