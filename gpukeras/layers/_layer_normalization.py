"""LayerNormalization: normalize each sample over the feature axes (Keras 3)."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras import constraints, initializers, regularizers
from gpukeras.layers._add_weight import set_constraints
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register


@register
class LayerNormalization(Layer):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` with statistics per sample.

    Computed as Keras 3 does: ``inv = gamma / sqrt(var + epsilon)``, ``y = x * inv +
    (beta - mean * inv)``; the same in training and inference.

    Args:
        axis: Int or list of ints, the axes normalized over (and the shape of ``gamma``
            and ``beta``); default ``-1``.
        epsilon: Float added to the variance; default ``1e-3``.
        center: Add the learned offset ``beta``; default ``True``.
        scale: Multiply by the learned ``gamma``; default ``True``.
        beta_initializer: Default ``'zeros'``.
        gamma_initializer: Default ``'ones'``.
        beta_regularizer: Default ``None``.
        gamma_regularizer: Default ``None``.
        beta_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        gamma_constraint: Default ``None`` (a ``gpukeras.constraints`` one).
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ("_xhat", "_inv_std")

    def __init__(
        self,
        axis: Any = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise TypeError(
                "LayerNormalization: `axis` must be an int or a list of ints. "
                f"Received: axis={axis!r}"
            )
        set_constraints(self, beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)):
            raise ValueError(f"`epsilon` must be a float. Received: epsilon={epsilon!r}")
        self.axis = axis if isinstance(axis, int) else axes
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def _axes(self, ndim: int) -> tuple[int, ...]:
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        return tuple(sorted(a % ndim for a in axes))

    def build(self, input_shape: Shape) -> None:
        ndim = len(input_shape)
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        if any(not -ndim <= a < ndim for a in axes) or 0 in self._axes(ndim):
            raise ValueError(
                f"LayerNormalization {self.name!r}: `axis` must name feature axes of inputs "
                f"of rank {ndim}. Received: axis={self.axis!r}, input_shape={tuple(input_shape)}"
            )
        shape = tuple(input_shape[a] for a in self._axes(ndim))
        if any(d is None for d in shape):
            raise ValueError(
                f"LayerNormalization {self.name!r} needs known sizes along `axis`. "
                f"Received: input_shape={tuple(input_shape)}"
            )
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

    def _broadcast(self, value: Any, ndim: int) -> Any:
        axes = self._axes(ndim)
        shape = [1] * ndim
        for a, size in zip(axes, value.shape):
            shape[a] = size
        return value.reshape(shape)

    def forward(self, x: Any, training: bool = False) -> Any:
        xp = K.get_array_module(x)
        axes = self._axes(x.ndim)
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        variance = (centered * centered).mean(axis=axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(variance + self.epsilon)
        inv = inv_std if self.gamma is None else inv_std * self._broadcast(self.gamma.value, x.ndim)
        res = -mean * inv
        if self.beta is not None:
            res = res + self._broadcast(self.beta.value, x.ndim)
        self._xhat, self._inv_std = centered * inv_std, inv_std
        return x * inv + res

    def backward(self, grad: Any) -> Any:
        ndim = grad.ndim
        axes = self._axes(ndim)
        others = tuple(a for a in range(ndim) if a not in axes)
        if self.trainable:
            if self.gamma is not None:
                self.gamma.grad[...] = (grad * self._xhat).sum(axis=others)
            if self.beta is not None:
                self.beta.grad[...] = grad.sum(axis=others)
        grad_xhat = grad if self.gamma is None else grad * self._broadcast(self.gamma.value, ndim)
        mean_g = grad_xhat.mean(axis=axes, keepdims=True)
        mean_gx = (grad_xhat * self._xhat).mean(axis=axes, keepdims=True)
        return self._inv_std * (grad_xhat - mean_g - self._xhat * mean_gx)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
