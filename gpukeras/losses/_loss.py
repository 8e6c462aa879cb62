"""The ``Loss`` base class: per-sample values, their gradient, and Keras 3 reductions.

A built-in loss implements two hooks on inputs that are already on the device,
aligned and shape-checked (the class axis last):

* ``call(y_true, y_pred)``: Keras's per-element values, shaped ``y_pred.shape[:-1]``;
* ``_call_grad(y_true, y_pred)``: the gradient of ``sum(call(...))`` w.r.t. ``y_pred``.

The base class turns those into what the fit loop uses: ``per_sample`` (shape
``(N,)``, the mean over every axis but the batch axis, which is what Keras's
``sum_over_batch_size`` divides by) and ``per_sample_grad`` (the gradient of
``sum(per_sample)``), so ``loss(y_true, y_pred) == per_sample(...).mean()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gpukeras import backend as K
from gpukeras._naming import to_snake_case

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction: str | None) -> str | None:
    """Check ``reduction`` against Keras 3's allowed values."""
    if reduction not in REDUCTIONS:
        expected = ", ".join(repr(r) for r in REDUCTIONS)
        raise ValueError(
            f"Invalid reduction: expected one of {expected}. Received: reduction={reduction!r}"
        )
    return reduction


def as_float_array(x: Any) -> Any:
    """``x`` on the active backend; non-float input becomes ``floatx()``."""
    x = K.to_device(x)
    if x.dtype.kind != "f":
        x = x.astype(K.floatx())
    return x


def align_ranks(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Keras's ``squeeze_or_expand_to_same_rank``: fix a rank gap of one trailing unit axis.

    A ``(N,)`` partner of an ``(N, 1)`` array is expanded; a longer partner is squeezed.
    """
    true_rank, pred_rank = y_true.ndim, y_pred.ndim
    if true_rank == pred_rank + 1 and y_true.shape[-1] == 1:
        if pred_rank == 1:
            y_pred = y_pred[:, None]
        else:
            y_true = y_true[..., 0]
    elif pred_rank == true_rank + 1 and y_pred.shape[-1] == 1:
        if true_rank == 1:
            y_true = y_true[:, None]
        else:
            y_pred = y_pred[..., 0]
    return y_true, y_pred


def shape_mismatch(y_true: Any, y_pred: Any, detail: str = "") -> ValueError:
    """The error for targets that do not fit the predictions."""
    return ValueError(
        f"Incompatible targets: y_true has shape {tuple(y_true.shape)} but y_pred has shape "
        f"{tuple(y_pred.shape)}{detail}. Received: y_true.shape={tuple(y_true.shape)}, "
        f"y_pred.shape={tuple(y_pred.shape)}"
    )


def _divide_no_nan(numerator: Any, denominator: Any) -> Any:
    xp = K.get_array_module(numerator, denominator)
    safe = xp.where(denominator == 0, 1.0, denominator).astype(numerator.dtype)
    return xp.where(denominator == 0, 0.0, numerator / safe).astype(numerator.dtype)


class _Prepared:
    """Aligned inputs and how to put a gradient back into ``y_pred``'s original shape."""

    __slots__ = ("y_true", "y_pred", "axis", "shape", "mask")

    def __init__(self, y_true: Any, y_pred: Any, axis: int, shape: tuple[int, ...]) -> None:
        self.y_true = y_true
        self.y_pred = y_pred
        self.axis = axis
        self.shape = shape
        self.mask: Any = None  # per-element validity (ignore_class), or None

    def restore(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        if self.axis != grad.ndim - 1:
            grad = xp.moveaxis(grad, -1, self.axis)
        return grad.reshape(self.shape)


class Loss:
    """Base class of every loss (Keras 3 ``keras.losses.Loss``).

    Args:
        name: name of the loss; ``None`` (default) gives the snake_case class name.
        reduction: how ``__call__`` reduces per-element losses (default
            ``'sum_over_batch_size'``): ``'sum_over_batch_size'`` and ``'mean'`` sum and
            divide by the number of elements, ``'sum'`` sums,
            ``'mean_with_sample_weight'`` divides the sum by the sum of the weights,
            ``'none'``/``None`` returns the weighted per-element values.
        dtype: accepted for Keras config compatibility (default ``None``); computations
            keep ``y_pred``'s float dtype.

    Subclasses in Keras style implement ``call(y_true, y_pred)``. To train with one,
    also override ``per_sample_grad`` (built-ins implement ``_call_grad`` instead).

    Where gpukeras differs from Keras 3 on purpose:

    * rank-1 ``y_pred`` is one value per sample (as ``(N, 1)``); Keras reduces it to a
      single scalar first, so its ``'sum'``/``'none'`` give the mean there;
    * ``sample_weight`` of shape ``(N,)`` on rank > 2 inputs broadcasts over the other
      axes (Keras raises), and ``'mean_with_sample_weight'`` then divides by the sum of
      the broadcast weights (a true weighted mean);
    * targets must match ``y_pred``'s shape after Keras's rank alignment (Keras would
      silently broadcast, e.g. ``(N, 1)`` labels against ``(N, 3)`` for MSE).
    """

    #: The activation whose gradient ``fused_grad`` folds in ('softmax'/'sigmoid'), or None.
    fused_activation: str | None = None
    #: Whether ``y_true`` holds class indices rather than one value per prediction.
    sparse_targets = False

    def __init__(
        self,
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        dtype: Any = None,
    ) -> None:
        self.name = name or to_snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self.dtype = dtype

    # ----------------------------------------------------------------- hooks
    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-element loss values, shaped ``y_pred.shape[:-1]`` (Keras's ``call``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def _call_grad(self, y_true: Any, y_pred: Any) -> Any:
        """Gradient of ``sum(call(y_true, y_pred))`` w.r.t. ``y_pred``."""
        raise TypeError(
            f"Loss {self.name!r} ({type(self).__name__}) has no gradient, so it cannot train "
            "a model. Use a built-in loss, or subclass gpukeras.losses.Loss and implement "
            "per_sample_grad(y_true, y_pred) returning d(sum of per_sample)/d(y_pred)."
        )

    def _fused_call_grad(self, y_true: Any, y_pred: Any) -> Any:
        """Gradient of ``sum(call(...))`` w.r.t. the logits behind ``y_pred``."""
        raise NotImplementedError

    def _check_shapes(self, y_true: Any, y_pred: Any) -> None:
        if tuple(y_true.shape) != tuple(y_pred.shape):
            raise shape_mismatch(y_true, y_pred)

    def _class_axis(self) -> int:
        return getattr(self, "axis", -1)

    def _prepare(self, y_true: Any, y_pred: Any) -> _Prepared:
        """Move both to the device, align ranks, check shapes, put the class axis last."""
        y_pred = as_float_array(y_pred)
        y_true = K.to_device(y_true, dtype=y_pred.dtype)
        if y_pred.ndim == 0:
            raise ValueError(
                f"Loss {self.name!r} needs y_pred with a batch axis. Received: y_pred.shape=()"
            )
        original_shape = tuple(y_pred.shape)
        y_true, y_pred = align_ranks(y_true, y_pred)
        if y_pred.ndim == 1:
            # One value per sample: a (N,) output is a (N, 1) output.
            y_true, y_pred = y_true.reshape(-1, 1), y_pred[:, None]
        self._check_shapes(y_true, y_pred)
        axis = self._normalized_axis(y_pred.ndim)
        if axis != y_pred.ndim - 1:
            xp = K.get_array_module(y_pred)
            y_true, y_pred = xp.moveaxis(y_true, axis, -1), xp.moveaxis(y_pred, axis, -1)
        return _Prepared(y_true, y_pred, axis, original_shape)

    def _normalized_axis(self, rank: int) -> int:
        axis = self._class_axis()
        if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis < rank:
            raise ValueError(
                f"Invalid axis for loss {self.name!r}: expected an int in [{-rank}, {rank}). "
                f"Received: axis={axis!r}"
            )
        return axis % rank

    def values(self, y_true: Any, y_pred: Any) -> Any:
        """Keras's unreduced values: one per element of ``y_pred`` without the class axis."""
        prepared = self._prepare(y_true, y_pred)
        return self.call(prepared.y_true, prepared.y_pred)

    # -------------------------------------------------------- fit-loop API
    def per_sample(self, y_true: Any, y_pred: Any) -> Any:
        """One loss value per sample, shape ``(N,)``, in ``y_pred``'s float dtype.

        Per-element values are averaged over every axis but the first (Keras's
        ``sum_over_batch_size`` divides by all of them), so the batch loss is
        ``sum(per_sample * sample_weight) / N``.
        """
        prepared = self._prepare(y_true, y_pred)
        values = self.call(prepared.y_true, prepared.y_pred)
        return self._mean_per_sample(values, prepared)

    def per_sample_grad(self, y_true: Any, y_pred: Any) -> Any:
        """Gradient of ``sum(per_sample(y_true, y_pred))`` w.r.t. ``y_pred`` (same shape)."""
        prepared = self._prepare(y_true, y_pred)
        grad = self._call_grad(prepared.y_true, prepared.y_pred)
        return prepared.restore(grad * self._element_scale(prepared))

    def fused_grad(self, activation_name: str | None, y_true: Any, y_pred: Any) -> Any:
        """Gradient of ``sum(per_sample)`` w.r.t. the logits before the final activation.

        ``y_pred`` is that activation's output. Returns ``None`` unless this loss takes
        probabilities (``from_logits=False``) and ``activation_name`` is the activation
        it pairs with ('softmax' for (sparse) categorical crossentropy on the last
        axis, 'sigmoid' for binary crossentropy). The result is the stable
        ``p - y`` form (label smoothing included), not a chain through the clip.
        """
        if (
            self.fused_activation is None
            or activation_name != self.fused_activation
            or getattr(self, "from_logits", False)
        ):
            return None
        prepared = self._prepare(y_true, y_pred)
        if self.fused_activation == "softmax" and prepared.axis != prepared.y_pred.ndim - 1:
            return None
        grad = self._fused_call_grad(prepared.y_true, prepared.y_pred)
        return prepared.restore(grad * self._element_scale(prepared))

    # ------------------------------------------------------------- Keras API
    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """The reduced loss, a 0-d array (a per-element array for reduction 'none').

        Args:
            y_true: targets.
            y_pred: predictions.
            sample_weight: ``None`` (default, all ones), a scalar, one weight per sample
                (shape ``(N,)`` or ``(N, 1)``), or one per element of the per-element loss.
        """
        prepared = self._prepare(y_true, y_pred)
        values = self.call(prepared.y_true, prepared.y_pred)
        weights = self._sample_weights(sample_weight, values)
        return self._reduce(values, weights, prepared.mask)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as Keras writes them."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """Rebuild a loss from ``get_config()`` output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    # ------------------------------------------------------------- helpers
    def _mask_weights(self, prepared: _Prepared) -> Any:
        """Keras's mask weights for mean reductions: total/valid on valid elements, else 0."""
        xp = K.get_array_module(prepared.mask)
        mask = prepared.mask.astype(prepared.y_pred.dtype)
        valid = mask.sum()
        return mask * (float(mask.size) / xp.maximum(valid, 1.0))

    def _element_scale(self, prepared: _Prepared) -> Any:
        """d per_sample / d per-element value, broadcastable against ``y_pred``."""
        per_sample_count = math.prod(prepared.y_pred.shape[1:-1])
        if prepared.mask is None:
            return 1.0 / per_sample_count
        return (self._mask_weights(prepared) / float(per_sample_count))[..., None]

    def _mean_per_sample(self, values: Any, prepared: _Prepared) -> Any:
        xp = K.get_array_module(values)
        count = prepared.y_pred.shape[0]
        if values.ndim == 0:
            return xp.broadcast_to(values, (count,)).copy()
        if prepared.mask is not None:
            values = values * self._mask_weights(prepared)
        return values.reshape(count, -1).mean(axis=1)

    def _sample_weights(self, sample_weight: Any, values: Any) -> Any:
        """``sample_weight`` shaped to broadcast against the per-element ``values``."""
        if sample_weight is None:
            return None
        weights = K.to_device(sample_weight, dtype=values.dtype)
        count = values.shape[0] if values.ndim else 1
        if weights.ndim == 0 or tuple(weights.shape) == tuple(values.shape):
            return weights
        if weights.size == count and weights.shape[0] == count:
            return weights.reshape((count,) + (1,) * (values.ndim - 1))
        raise ValueError(
            f"sample_weight must be a scalar, one weight per sample ({count},) or one per "
            f"loss element {tuple(values.shape)}. Received: sample_weight.shape="
            f"{tuple(weights.shape)}"
        )

    def _reduce(self, values: Any, weights: Any, mask: Any) -> Any:
        xp = K.get_array_module(values)
        return xp.asarray(self._reduce_values(values, weights, mask), dtype=values.dtype)

    def _reduce_values(self, values: Any, weights: Any, mask: Any) -> Any:
        xp = K.get_array_module(values)
        mask = None if mask is None else mask.astype(values.dtype)
        if weights is not None:
            weights = xp.broadcast_to(weights, values.shape).astype(values.dtype)
        weighted = values if weights is None else values * weights
        masked = weighted if mask is None else weighted * mask
        reduction = self.reduction
        if reduction in (None, "none") or values.ndim == 0:
            return masked
        if reduction == "sum":
            return masked.sum()
        if reduction == "mean_with_sample_weight" and weights is not None:
            combined = weights if mask is None else weights * mask
            return _divide_no_nan(masked.sum(), combined.sum())
        if mask is not None:
            # Keras divides by the number of unmasked elements.
            return _divide_no_nan(masked.sum(), mask.sum())
        return masked.sum() / float(max(values.size, 1))


class LossFunctionWrapper(Loss):
    """A loss made from a function ``fn(y_true, y_pred, **kwargs) -> per-element values``.

    Plain callables have no gradient: ``per_sample`` and ``__call__`` work, but
    ``per_sample_grad`` raises TypeError unless ``fn`` has a ``per_sample_grad``
    attribute, called as ``fn.per_sample_grad(y_true, y_pred, **kwargs)`` and returning
    the gradient of ``sum(per_sample)`` w.r.t. ``y_pred``.

    Args:
        fn: the loss function.
        reduction: see :class:`Loss` (default ``'sum_over_batch_size'``).
        name: default ``None``: the function's snake_case name.
        dtype: see :class:`Loss` (default ``None``).
        **kwargs: passed to ``fn`` on every call.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"Expected a callable loss function. Received: fn={fn!r}")
        default_name = to_snake_case(getattr(fn, "__name__", type(fn).__name__))
        super().__init__(name=name or default_name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def _check_shapes(self, y_true: Any, y_pred: Any) -> None:
        # A user function decides for itself what targets it accepts.
        return None

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return K.to_device(self.fn(y_true, y_pred, **self._fn_kwargs))

    def per_sample_grad(self, y_true: Any, y_pred: Any) -> Any:
        gradient = getattr(self.fn, "per_sample_grad", None)
        if gradient is None:
            return self._call_grad(y_true, y_pred)
        return gradient(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        config.update(self._fn_kwargs)
        return config

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({self.fn!r}, kwargs={self._fn_kwargs})>"
