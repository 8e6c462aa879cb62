"""PReLU: a leaky ReLU whose negative slope is learned, per unit or shared over axes."""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras import constraints, initializers, regularizers
from gpukeras.layers._add_weight import set_constraints
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import register


@register
class PReLU(Layer):
    """Parametric ReLU: ``x`` for ``x > 0``, ``alpha * x`` below, ``alpha`` trained.

    ``alpha`` has the shape of one sample, except along ``shared_axes`` where it has
    size 1 and is shared (``shared_axes=[1, 2]`` for one slope per channel of
    ``(batch, height, width, channels)`` feature maps).

    Args:
        alpha_initializer: Initial slopes; default ``'zeros'``.
        alpha_regularizer: Penalty on the slopes; default None.
        alpha_constraint: Constraint applied to the slopes after each update; default None.
        shared_axes: Input axes (1 = the first after the batch) sharing one slope;
            an int or a list; default None.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ("_x",)

    def __init__(
        self,
        alpha_initializer: Any = "Zeros",
        alpha_regularizer: Any = None,
        alpha_constraint: Any = None,
        shared_axes: int | list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_constraints(self, alpha_constraint=alpha_constraint)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(
                    "PReLU's shared_axes must be input axes >= 1 (0 is the batch). "
                    f"Received: shared_axes={shared_axes!r}"
                )
            self.shared_axes = axes

    def build(self, input_shape: Shape) -> None:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis > len(shape):
                raise ValueError(
                    f"PReLU's shared_axes name axis {axis}, but the input has rank "
                    f"{len(shape) + 1}. Received: input_shape={tuple(input_shape)}"
                )
            shape[axis - 1] = 1
        self.alpha = self.add_weight(
            "alpha",
            tuple(shape),
            self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
        )

    def forward(self, x: Any, training: bool = False) -> Any:
        xp = K.get_array_module(x)
        self._x = x
        return xp.where(x > 0, x, self.alpha.value * x)

    def backward(self, grad: Any) -> Any:
        xp = K.get_array_module(grad)
        x = self._x
        if self.trainable:
            axes = (0, *(self.shared_axes or []))
            alpha_grad = (grad * xp.minimum(x, 0.0)).sum(axis=axes, keepdims=True)
            self.alpha.grad[...] = alpha_grad.reshape(self.alpha.shape)
        if not self.needs_input_grad:
            return None
        return xp.where(x > 0, grad, grad * self.alpha.value)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }
