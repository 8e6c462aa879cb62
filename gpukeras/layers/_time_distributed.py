"""TimeDistributed: apply one layer to every timestep of a sequence, sharing its weights."""

from __future__ import annotations

import copy
from typing import Any

from gpukeras import backend as K
from gpukeras.layers._bidirectional import _weight_groups, _with_input_shape_of
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import deserialize, register, serialize
from gpukeras.variables import Variable


@register
class TimeDistributed(Layer):
    """Applies ``layer`` to each slice ``x[:, t]`` of a ``(batch, time, ...)`` input.

    The timesteps are folded into the batch axis, so the wrapped layer runs once
    on ``(batch * time, ...)`` (one GEMM for a Dense) instead of once per step;
    the result is the same as Keras's per-step loop for layers without
    randomness. A mask passes through unchanged.

    Args:
        layer: The layer to apply (its weights are shared across timesteps). Required.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ("_steps",)  # and the wrapped layer's own, as call_children

    def __init__(self, layer: Any = None, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed needs a layer instance. Received: layer={layer!r}")
        super().__init__(**_with_input_shape_of(layer, kwargs))
        self.layer = layer

    def _child_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        if len(shape) < 3:
            raise ValueError(
                "TimeDistributed needs inputs of rank >= 3 (batch, time, ...). "
                f"Received: input_shape={shape}"
            )
        return (None if shape[0] is None or shape[1] is None else shape[0] * shape[1], *shape[2:])

    def build(self, input_shape: Shape) -> None:
        self.layer.ensure_built(self._child_shape(input_shape))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        return (input_shape[0], input_shape[1], *tuple(child)[1:])

    def forward(self, x: Any, training: bool = False) -> Any:
        if x.ndim < 3:
            raise ValueError(
                "TimeDistributed needs inputs of rank >= 3 (batch, time, ...). "
                f"Received: inputs with shape {tuple(x.shape)}"
            )
        batch, steps = int(x.shape[0]), int(x.shape[1])
        self.layer.input_mask = None
        y = self.layer.forward(x.reshape(batch * steps, *x.shape[2:]), training=training)
        self._steps = (batch, steps, tuple(x.shape[2:]))
        return y.reshape(batch, steps, *y.shape[1:])

    def backward(self, grad: Any) -> Any:
        batch, steps, rest = self._steps
        folded = (
            K.get_array_module(grad).ascontiguousarray(grad).reshape(batch * steps, *grad.shape[2:])
        )
        self.layer.needs_input_grad = self.needs_input_grad
        dx = self.layer.backward(folded)
        return None if dx is None else dx.reshape(batch, steps, *rest)

    def call_children(self) -> list[Layer]:
        return [self.layer]

    # -- the wrapped layer owns the weights ---------------------------------
    @property
    def trainable_weights(self) -> list[Variable]:
        return self.layer.trainable_weights if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return self.layer.non_trainable_weights if self.trainable else list(self.layer.weights)

    @property
    def weights(self) -> list[Variable]:
        return list(self.layer.weights)

    def count_params(self) -> int:
        return self.layer.count_params()

    def add_penalty_gradients(self) -> None:
        if self.trainable:
            self.layer.add_penalty_gradients()

    def penalties(self) -> list[Any]:
        found = [
            v.regularizer(v.value) for v in self.trainable_weights if v.regularizer is not None
        ]
        if self.activity_regularizer is not None and self._output is not None:
            batch = float(self._output.shape[0])  # Keras 3 divides by the batch size
            found.append(self.activity_regularizer(self._output) * (1.0 / batch))
        return found

    def keras3_weight_groups(self) -> list[tuple[str, list[Any]]]:
        """Keras 3's ``.weights.h5`` groups: the wrapped layer's, under ``layer/``."""
        return [("vars", [])] + [(f"layer/{p}", w) for p, w in _weight_groups(self.layer)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        config = copy.deepcopy(config)
        config["layer"] = deserialize(config["layer"])
        return cls(**config)
