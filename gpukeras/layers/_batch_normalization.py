"""BatchNormalization: normalize each channel with batch statistics (training) or moving ones.

As Keras 3: in training (and only when the layer is trainable) the batch mean and biased
variance normalize the input and update ``moving = moving * momentum + batch * (1 -
momentum)``; otherwise the moving statistics are used. The output is ``x * inv + res`` with
``inv = gamma / sqrt(var + epsilon)`` and ``res = beta - mean * inv``. Weights, in Keras's
order: ``gamma``, ``beta`` (trainable), ``moving_mean``, ``moving_variance`` (not trainable).

The channel axis is moved last (a free reshape for the default ``axis=-1``), so every step is
a reduction over rows of a ``(rows, channels)`` array plus one fused elementwise kernel.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras import constraints, initializers, regularizers
from gpukeras._legacy import legacy_arguments, warn_user
from gpukeras.backend.kernels.normalization import affine_op, grad_op
from gpukeras.layers._add_weight import set_constraints
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register

# Keras 3 adds backend.epsilon() to the count of unmasked entries.
_MASK_EPSILON = 1e-7


@register
class BatchNormalization(Layer):
    """Normalize each feature channel over the batch (Keras 3's ``BatchNormalization``).

    Args:
        axis: Int, the channel axis; default ``-1``.
        momentum: Float, weight of the old moving statistics; default ``0.99``.
        epsilon: Float added to the variance; default ``1e-3``.
        center: Add the learned offset ``beta``; default ``True``.
        scale: Multiply by the learned ``gamma``; default ``True``.
        beta_initializer: Default ``'zeros'``.
        gamma_initializer: Default ``'ones'``.
        moving_mean_initializer: Default ``'zeros'``.
        moving_variance_initializer: Default ``'ones'``.
        beta_regularizer: Default ``None``.
        gamma_regularizer: Default ``None``.
        beta_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        gamma_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        renorm: Not supported; must be ``False`` (the default).
        renorm_clipping: Must be ``None`` (the default).
        renorm_momentum: Ignored without renorm; default ``0.99``.
        synchronized: Single device only; must be ``False`` (the default).
        **kwargs: :class:`Layer` arguments.

    With a mask (one axis fewer than the input, e.g. from ``Embedding(mask_zero=True)``)
    the batch statistics use only the unmasked positions, as in Keras 3.
    """

    supports_masking = True
    call_state = (
        "_x_rows",
        "_mean",
        "_inv_std",
        "_scale",
        "_training",
        "_weights_column",
        "_weight_total",
        "_moved_shape",
    )

    @legacy_arguments(
        "BatchNormalization",
        {"beta_init": ("beta_initializer", None), "gamma_init": ("gamma_initializer", None)},
    )
    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        renorm: bool = False,
        renorm_clipping: Any = None,
        renorm_momentum: float = 0.99,
        synchronized: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**_without_legacy_mode(kwargs))
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"BatchNormalization: `axis` must be an int. Received: axis={axis!r}")
        set_constraints(self, beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        if renorm or renorm_clipping is not None or synchronized:
            raise NotImplementedError(
                "BatchNormalization: renorm and synchronized are not supported. "
                f"Received: renorm={renorm!r}, synchronized={synchronized!r}"
            )
        self.axis = axis
        self.momentum = _float(momentum, "momentum")
        self.epsilon = _float(epsilon, "epsilon")
        self.center, self.scale = bool(center), bool(scale)
        self.renorm_momentum = float(renorm_momentum)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape: Shape) -> None:
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(
                f"BatchNormalization {self.name!r}: `axis` is out of range for inputs of rank "
                f"{ndim}. Received: axis={self.axis}, input_shape={tuple(input_shape)}"
            )
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(
                f"BatchNormalization {self.name!r} needs a known size along axis {self.axis}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        shape = (int(channels),)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                "gamma",
                shape,
                self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
            )
        if self.center:
            self.beta = self.add_weight(
                "beta",
                shape,
                self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
            )
        self.moving_mean = self.add_weight(
            "moving_mean", shape, self.moving_mean_initializer, trainable=False
        )
        self.moving_variance = self.add_weight(
            "moving_variance", shape, self.moving_variance_initializer, trainable=False
        )

    # -- channels-last rows -----------------------------------------------
    def _rows(self, x: Any) -> Any:
        """``x`` as ``(rows, channels)``: a view for axis=-1, a copy otherwise."""
        xp = K.get_array_module(x)
        axis = self.axis % x.ndim
        if axis != x.ndim - 1:
            x = xp.ascontiguousarray(xp.moveaxis(x, axis, -1))
        self._moved_shape = x.shape
        return xp.ascontiguousarray(x).reshape(-1, x.shape[-1])

    def _unrows(self, rows: Any) -> Any:
        xp = K.get_array_module(rows)
        out = rows.reshape(self._moved_shape)
        axis = self.axis % out.ndim
        if axis != out.ndim - 1:
            out = xp.ascontiguousarray(xp.moveaxis(out, -1, axis))
        return out

    def _row_weights(self, x: Any, dtype: Any) -> Any:
        """The mask as a ``(rows, 1)`` float column, or ``None``."""
        if self.input_mask is None:
            return None
        mask = self.input_mask
        if mask.ndim != x.ndim - 1:
            raise ValueError(
                "The mask must have one axis fewer than the inputs. Received: "
                f"mask.shape={tuple(mask.shape)}, inputs.shape={tuple(x.shape)}"
            )
        if self.axis % x.ndim != x.ndim - 1:
            raise NotImplementedError(
                f"BatchNormalization with a mask needs axis=-1. Received: axis={self.axis}"
            )
        return mask.reshape(-1, 1).astype(dtype)

    # -- computing --------------------------------------------------------
    def forward(self, x: Any, training: bool = False) -> Any:
        xp = K.get_array_module(x)
        # As Keras 3: float16/bfloat16 inputs are normalized in float32 (they overflow), and
        # every kernel input has one dtype (CuPy refuses a float32 scale with float16 rows).
        wide = xp.result_type(x.dtype, xp.float32)
        rows = self._rows(x).astype(wide, copy=False)
        self._training = bool(training) and self.trainable
        self._weights_column = None
        if self._training:
            self._weights_column = self._row_weights(x, wide)
            mean, variance = self._moments(rows, self._weights_column)
            self._update_moving(mean, variance)
        else:
            mean = self.moving_mean.value.astype(wide, copy=False)
            variance = self.moving_variance.value.astype(wide, copy=False)
        inv_std = 1.0 / xp.sqrt(variance + self.epsilon)
        gamma, beta = (
            w.value.astype(wide, copy=False) if w is not None else None
            for w in (self.gamma, self.beta)
        )
        scale = inv_std * gamma if gamma is not None else inv_std
        shift = -mean * scale
        if beta is not None:
            shift = shift + beta
        out = xp.empty_like(rows)
        affine_op(rows, scale, shift, out)
        self._x_rows, self._mean, self._inv_std, self._scale = rows, mean, inv_std, scale
        return self._unrows(out.astype(x.dtype, copy=False))

    def _moments(self, rows: Any, weights: Any) -> tuple[Any, Any]:
        if weights is None:
            mean = rows.mean(axis=0)
            centered = rows - mean
            return mean, (centered * centered).mean(axis=0)
        total = weights.sum() + _MASK_EPSILON
        self._weight_total = total
        mean = (rows * weights).sum(axis=0) / total
        centered = (rows - mean) * weights
        return mean, (centered * centered).sum(axis=0) / total

    def _update_moving(self, mean: Any, variance: Any) -> None:
        m = self.momentum
        moving_mean, moving_variance = self.moving_mean.value, self.moving_variance.value
        moving_mean[...] = moving_mean * m + mean * (1.0 - m)
        moving_variance[...] = moving_variance * m + variance * (1.0 - m)

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        x, mean, inv_std = self._x_rows, self._mean, self._inv_std
        g = self._rows(grad).astype(x.dtype, copy=False)  # float32 for 16-bit gradients
        grad_beta = g.sum(axis=0)
        grad_xhat_sum = ((x - mean) * g).sum(axis=0) * inv_std  # sum of g * xhat
        if self.trainable:
            if self.gamma is not None:
                self.gamma.grad[...] = grad_xhat_sum
            if self.beta is not None:
                self.beta.grad[...] = grad_beta
        if not self._training:
            return self._unrows((g * self._scale).astype(grad.dtype, copy=False))
        if self._weights_column is not None:
            dx = self._masked_input_grad(g, grad_beta, grad_xhat_sum)
            return self._unrows(dx.astype(grad.dtype, copy=False))
        rows = float(len(g))
        dx = xp.empty_like(g)
        grad_op(
            x,
            g,
            mean,
            inv_std,
            self._scale,
            grad_beta * (1.0 / rows),
            grad_xhat_sum * (1.0 / rows),
            dx,
        )
        return self._unrows(dx.astype(grad.dtype, copy=False))

    def _masked_input_grad(self, g: Any, grad_beta: Any, grad_xhat_sum: Any) -> Any:
        """Through weighted moments: mean = sum(w x) / W, var = sum(w (x - mean)^2) / W."""
        x, mean, inv_std, scale = self._x_rows, self._mean, self._inv_std, self._scale
        w, total = self._weights_column, self._weight_total
        centered = x - mean
        # d loss / d var and d loss / d mean (the latter including var's dependence on mean).
        grad_var = -0.5 * (inv_std * inv_std) * scale * (centered * g).sum(axis=0)
        grad_mean = -scale * grad_beta - grad_var * 2.0 * (w * centered).sum(axis=0) / total
        return g * scale + w * (grad_mean / total) + w * centered * (grad_var * 2.0 / total)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": False,
        }


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a float. Received: {name}={value!r}")
    return float(value)


def _without_legacy_mode(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keras 1's ``mode``: 0 (feature-wise, batch statistics) is what this layer does;
    1 and 2 normalised otherwise and are refused, naming what to use."""
    if "mode" not in kwargs:
        return kwargs
    kwargs = dict(kwargs)
    mode = kwargs.pop("mode")
    if mode == 0 and not isinstance(mode, bool):
        warn_user("BatchNormalization: the argument `mode` is deprecated; mode=0 is the default.")
        return kwargs
    raise ValueError(
        "BatchNormalization: only Keras 1's mode=0 exists in gpukeras; for mode=1 (per-sample "
        "normalisation) use LayerNormalization, mode=2 (batch statistics at test time too) "
        f"is not available. Received: mode={mode!r}"
    )
