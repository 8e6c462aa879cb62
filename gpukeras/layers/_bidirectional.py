"""Bidirectional: one recurrent layer reads forwards, a copy reads backwards, outputs merge."""

from __future__ import annotations

import copy
from typing import Any

from gpukeras import autodiff
from gpukeras import backend as K
from gpukeras.layers._keras_tensor import is_symbolic
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._serialization import deserialize, register, serialize
from gpukeras.variables import Variable

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


@register
class Bidirectional(Layer):
    """Runs ``layer`` over the sequence and a ``go_backwards`` copy, merging the outputs.

    As in Keras 3, both directions are rebuilt from ``layer``'s config (named
    ``forward_<name>`` and ``backward_<name>``), so ``layer`` itself is not
    used and its weights are not shared. With ``return_sequences`` the
    backward output is flipped back to input order before merging, and both
    directions output zeros at masked steps.

    Args:
        layer: A recurrent layer (SimpleRNN, LSTM, GRU). Required.
        merge_mode: ``'concat'`` (default), ``'sum'``, ``'mul'``, ``'ave'`` or
            ``None`` (return both outputs as a list).
        weights: Initial weights, forward layer's then backward layer's; default ``None``.
        backward_layer: The layer for the backward direction; default ``None``
            (a ``go_backwards`` copy of ``layer``). It must have the opposite
            ``go_backwards`` and the same ``return_sequences``/``return_state``.
        **kwargs: :class:`Layer` arguments.
    """

    supports_masking = True
    call_state = ("_y", "_y_rev")  # and both directions' own, as call_children

    def __init__(
        self,
        layer: Any = None,
        merge_mode: str | None = "concat",
        weights: Any = None,
        backward_layer: Any = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError(
                "Bidirectional needs a recurrent layer instance (SimpleRNN, LSTM, GRU). "
                f"Received: layer={layer!r}"
            )
        if backward_layer is not None and (
            not isinstance(backward_layer, Layer) or not hasattr(backward_layer, "go_backwards")
        ):
            raise ValueError(
                f"`backward_layer` must be a recurrent layer instance. Received: {backward_layer!r}"
            )
        layer = _as_fused(layer)
        backward_layer = None if backward_layer is None else _as_fused(backward_layer)
        if getattr(layer, "stateful", False):
            raise NotImplementedError(
                "Bidirectional does not support stateful recurrent layers yet. "
                f"Received: layer={layer.name!r} with stateful=True"
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                "merge_mode must be one of 'sum', 'mul', 'ave', 'concat' or None. "
                f"Received: merge_mode={merge_mode!r}"
            )
        super().__init__(**_with_input_shape_of(layer, kwargs))
        self.forward_layer = _copy_of(layer, "forward_", go_backwards=None)
        if backward_layer is None:
            self.backward_layer = _copy_of(layer, "backward_", go_backwards=True)
        else:
            self.backward_layer = backward_layer
        self._check_pair()
        for direction in (self.forward_layer, self.backward_layer):
            direction.zero_output_for_mask = direction.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.stateful = False
        self._initial_weights = weights

    def _check_pair(self) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` values. "
                f"Received: forward_layer.go_backwards={forward.go_backwards}, "
                f"backward_layer.go_backwards={backward.go_backwards}"
            )
        for attribute in ("return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ValueError(
                    f"Forward layer and backward layer must have the same {attribute}. Received: "
                    f"{getattr(forward, attribute)} and {getattr(backward, attribute)}"
                )

    # -- building ---------------------------------------------------------
    def build(self, input_shape: Shape) -> None:
        self.forward_layer.ensure_built(tuple(input_shape))
        self.backward_layer.ensure_built(tuple(input_shape))
        if self._initial_weights is not None:
            self.set_weights(list(self._initial_weights))
            self._initial_weights = None

    def compute_output_shape(self, input_shape: Shape) -> Any:
        shape = self.forward_layer.compute_output_shape(input_shape)
        states: list[Any] = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            shape = (*tuple(shape)[:-1], 2 * shape[-1])
        if self.merge_mode is None:
            return [shape, shape] + states * 2
        return [shape] + states * 2 if self.return_state else tuple(shape)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            return masks + [None] * (2 * self.forward_layer.state_count)
        return masks if self.merge_mode is None else output_mask

    # -- computing --------------------------------------------------------
    def __call__(
        self, inputs: Any, initial_state: Any = None, mask: Any = None, training: Any = None
    ) -> Any:
        """Apply both directions; ``initial_state`` lists forward states, then backward ones."""
        if is_symbolic([inputs, initial_state, mask]):  # the functional API: a graph node
            states = {} if initial_state is None else {"initial_state": initial_state}
            return super().__call__(inputs, training=training, mask=mask, **states)
        if initial_state is None:  # Layer.__call__: on the tape when one records
            mask = None if mask is None else K.to_device(mask)
            return super().__call__(inputs, training=training, mask=mask)
        if autodiff.is_recording():
            raise NotImplementedError(
                f"Layer {self.name!r}: initial_state inside a GradientTape is not supported "
                "yet. Received: initial_state of length " + str(len(initial_state))
            )
        x = K.to_device(inputs)
        self.ensure_built(tuple(x.shape))
        self.input_mask = None if mask is None else K.to_device(mask)
        return self.forward(x, training=bool(training), initial_state=initial_state)

    def forward(self, x: Any, training: bool = False, initial_state: Any = None) -> Any:
        xp = K.get_array_module(x)
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        self.forward_layer.input_mask = self.input_mask
        self.backward_layer.input_mask = self.input_mask
        y = self.forward_layer.forward(x, training=training, initial_state=forward_state)
        y_rev = self.backward_layer.forward(x, training=training, initial_state=backward_state)
        states: list[Any] = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        self._y, self._y_rev = y, y_rev
        output = self._merge(xp, y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else [output]) + states
        return output

    def _merge(self, xp: Any, y: Any, y_rev: Any) -> Any:
        if self.merge_mode == "concat":
            return xp.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) * 0.5
        if self.merge_mode == "mul":
            return y * y_rev
        return [y, xp.ascontiguousarray(y_rev)]

    def backward(self, grad: Any) -> Any:
        grads = list(grad) if (self.return_state or self.merge_mode is None) else [grad]
        outputs = 2 if self.merge_mode is None else 1
        grad_y, grad_y_rev = self._split_merge_grad(grads[:outputs])
        state_grads = grads[outputs:]
        half = len(state_grads) // 2
        if self.return_sequences and grad_y_rev is not None:
            grad_y_rev = grad_y_rev[:, ::-1]
        forward_grad: Any = grad_y
        backward_grad: Any = grad_y_rev
        if self.return_state:
            forward_grad = [grad_y, *state_grads[:half]]
            backward_grad = [grad_y_rev, *state_grads[half:]]
        for layer in self._directions():
            layer.needs_input_grad = self.needs_input_grad
        dx = self.forward_layer.backward(forward_grad)
        dx_rev = self.backward_layer.backward(backward_grad)
        return None if dx is None else dx + dx_rev

    def _split_merge_grad(self, grads: list[Any]) -> tuple[Any, Any]:
        if self.merge_mode is None:
            return grads[0], grads[1]
        grad = grads[0]
        if grad is None:
            return None, None
        if self.merge_mode == "concat":
            units = self._y.shape[-1]
            return grad[..., :units], grad[..., units:]
        if self.merge_mode == "sum":
            return grad, grad
        if self.merge_mode == "ave":
            half = grad * 0.5
            return half, half
        return grad * self._y_rev, grad * self._y  # mul

    # -- weights and penalties (the two directions own them) ----------------
    def call_children(self) -> list[Layer]:
        return self._directions()

    def _directions(self) -> list[Layer]:
        return [self.forward_layer, self.backward_layer]

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [w for layer in self._directions() for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return [w for layer in self._directions() for w in layer.weights]
        return [w for layer in self._directions() for w in layer.non_trainable_weights]

    @property
    def weights(self) -> list[Variable]:
        # Keras orders a wrapper's weights by direction, not trainable-first.
        return [w for layer in self._directions() for w in layer.weights]

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self._directions())

    def add_penalty_gradients(self) -> None:
        if self.trainable:
            for layer in self._directions():
                layer.add_penalty_gradients()

    def penalties(self) -> list[Any]:
        found = [p for layer in self._directions() for p in layer.penalties()]
        if self.activity_regularizer is not None and self._output is not None:
            batch = float(self._output.shape[0])  # Keras 3 divides by the batch size
            found.append(self.activity_regularizer(self._output) * (1.0 / batch))
        return found

    def keras3_weight_groups(self) -> list[tuple[str, list[Any]]]:
        """Keras 3's ``.weights.h5`` groups: ``forward_layer/...`` then ``backward_layer/...``."""
        groups: list[tuple[str, list[Any]]] = [("vars", [])]
        for prefix, layer in (
            ("forward_layer", self.forward_layer),
            ("backward_layer", self.backward_layer),
        ):
            groups += [(f"{prefix}/{path}", found) for path, found in _weight_groups(layer)]
        return groups

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": serialize(self.forward_layer),
            "backward_layer": serialize(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        config = copy.deepcopy(config)
        config["layer"] = deserialize(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"])
        return cls(**config)


def _as_fused(layer: Layer) -> Layer:
    """``layer``, or for ``RNN(cell)`` of one built-in cell the fused layer it equals
    (``RNN(LSTMCell(n))`` becomes ``LSTM(n)``): Bidirectional runs the fused layers'
    hand-written passes, which an RNN of ops has not."""
    from gpukeras.layers._call import uses_call

    if not uses_call(layer):
        return layer
    from gpukeras.layers.rnn._fused_twin import fused_equivalent

    fused = fused_equivalent(layer) if hasattr(layer, "cell") else None
    if fused is None:
        raise NotImplementedError(
            "Bidirectional wraps the fused SimpleRNN, LSTM and GRU layers, and RNN of one "
            "SimpleRNNCell, LSTMCell or GRUCell (without recurrent_dropout); other RNN "
            f"cells are not supported yet. Received: layer={layer.name!r} "
            f"({type(layer).__name__} of {type(getattr(layer, 'cell', None)).__name__})"
        )
    return fused


def _copy_of(layer: Layer, prefix: str, go_backwards: bool | None) -> Layer:
    """A fresh layer from ``layer``'s config, renamed ``prefix + name``, unbuilt."""
    config = layer.get_config()
    config["name"] = prefix + layer.name.removeprefix(prefix)
    if go_backwards is not None:
        config["go_backwards"] = go_backwards
    return type(layer).from_config(config)


def _weight_groups(layer: Layer) -> list[tuple[str, list[Any]]]:
    """A layer's Keras 3 weight groups (``[('vars', weights)]`` for plain layers)."""
    groups = getattr(layer, "keras3_weight_groups", None)
    return groups() if groups is not None else [("vars", list(layer.weights))]


def _with_input_shape_of(layer: Layer, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keras 2 style ``Wrapper(LSTM(8, input_shape=...))``: the wrapper takes the shape."""
    given = ("input_shape", "input_dim", "batch_input_shape")
    if layer.batch_input_shape is None or any(k in kwargs for k in given):
        return kwargs
    return {**kwargs, "batch_input_shape": layer.batch_input_shape}
