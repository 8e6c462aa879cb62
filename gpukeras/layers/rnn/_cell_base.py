"""What SimpleRNNCell, LSTMCell and GRUCell share: arguments, weights, configs.

A cell computes ONE timestep, ``call(inputs, states) -> (output, new_states)``, with
``gpukeras.ops``: the tape differentiates it, and :class:`~gpukeras.layers.RNN` loops it
over time. The weights are those of the fused SimpleRNN/LSTM/GRU layers (same names,
shapes, gate order and initial values), so weights move freely between the two.
"""

from __future__ import annotations

from typing import Any

from gpukeras import activations, autodiff, constraints, initializers, ops, regularizers
from gpukeras import backend as K
from gpukeras.layers._add_weight import set_constraints
from gpukeras.layers._layer import Layer, Shape


class RNNCellBase(Layer):
    """Base of the built-in cells (not public). Subclasses set ``gate_blocks``."""

    gate_blocks = 1

    def __init__(
        self,
        units: Any,
        *,
        activation: Any,
        recurrent_activation: Any = None,
        use_bias: bool,
        kernel_initializer: Any,
        recurrent_initializer: Any,
        bias_initializer: Any,
        kernel_regularizer: Any,
        recurrent_regularizer: Any,
        bias_regularizer: Any,
        kernel_constraint: Any,
        recurrent_constraint: Any,
        bias_constraint: Any,
        dropout: Any,
        recurrent_dropout: Any,
        seed: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"{owner} units must be a positive int. Received: units={units!r}")
        set_constraints(
            self,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
        )
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = (
            None if recurrent_activation is None else activations.get(recurrent_activation)
        )
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = _rate(owner, "dropout", dropout)
        self.recurrent_dropout = _rate(owner, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self._generator = None if seed is None else K.random.device_generator(seed)
        self._dropout_masks: dict[str, Any] = {}

    # -- dropout (Keras's DropoutRNNCell) -------------------------------------------
    def dropped(self, x: Any, which: str, training: Any) -> Any:
        """``x`` times this sequence's dropout mask (``which``: ``'input'`` or
        ``'recurrent'``) while training. One mask per sequence: drawn at the first step,
        kept until :meth:`reset_dropout_mask` (``RNN`` resets it around each call)."""
        rate = self.dropout if which == "input" else self.recurrent_dropout
        if not training or not rate:
            return x
        if which not in self._dropout_masks:
            shape = tuple(autodiff.unwrap(x).shape)
            keep = K.random.uniform(shape, self.compute_dtype, self._generator) >= rate
            self._dropout_masks[which] = keep.astype(self.compute_dtype) * (1.0 / (1.0 - rate))
        return ops.multiply(x, self._dropout_masks[which])

    def reset_dropout_mask(self) -> None:
        """Draw new dropout masks at the next step (a new sequence)."""
        self._dropout_masks = {}

    reset_recurrent_dropout_mask = reset_dropout_mask

    @property
    def state_size(self) -> Any:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape: Shape) -> None:
        shape = tuple(input_shape)
        if len(shape) != 2 or shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} expects one timestep of shape "
                f"(batch, features) with known features. Received: input_shape={shape}"
            )
        width = self.gate_blocks * self.units
        self.kernel = self.add_weight(
            "kernel",
            (int(shape[-1]), width),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (self.units, width),
            self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = self._make_bias() if self.use_bias else None
        for variable in self._weights:  # orthogonal values come back Fortran-ordered
            xp = K.get_array_module(variable.value)
            variable.value = xp.ascontiguousarray(variable.value)

    def _make_bias(self) -> Any:
        return self.add_weight(
            "bias",
            (self.gate_blocks * self.units,),
            self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        """Zeros for each state, ``(batch_size, units)``."""
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        xp = K.array_module()
        return [xp.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (tuple(input_shape)[0], self.units)

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
        }
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config.update(
            {
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed,
            }
        )
        return config


def activate(function: Any, x: Any) -> Any:
    """``function`` (a gpukeras activation) applied to ``x`` as one tape node: its own
    backward is the node's VJP, so any activation a fused layer takes works in a cell."""
    value = autodiff.unwrap(x)
    y = function.forward(value)

    def vjp(grad: Any) -> list[Any]:
        return [function.backward(value, y, grad)]

    return autodiff.record(y, [x], vjp, name=getattr(function, "name", "activation"))


def first_state(states: Any) -> Any:
    """A cell's single state, given as ``[h]`` or ``h`` (Keras accepts both)."""
    return states[0] if isinstance(states, (list, tuple)) else states


def _rate(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{owner}: {name} must be a float in [0, 1). Received: {name}={value!r}")
    return float(value)
