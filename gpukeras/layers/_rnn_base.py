"""What SimpleRNN, LSTM and GRU share: arguments, weights, masks, the time loop's frame.

Each recurrent layer runs in three phases, forward and backward alike:

1. one GEMM projects every timestep's input at once (``xs @ kernel + bias``);
2. a Python loop over timesteps does one small GEMM (``h @ recurrent_kernel``) and the
   gate arithmetic per step (fused kernels for the default activations);
3. backward ends with two GEMMs for ``kernel``'s gradient and the input gradient, and
   one for ``recurrent_kernel``'s gradient over all steps together.

Everything inside the loop is stored time-major, in *processing order* (reversed
input order with ``go_backwards``), in buffers allocated once per (steps, batch)
shape. State sequences have ``steps + 1`` rows: row 0 is the initial state and row
``s + 1`` the state carried out of step ``s``.

Masks follow Keras 3 (``keras/src/backend/jax/rnn.py``): at a masked step the states
are carried unchanged and the output repeats the previous output, or is zero when
``zero_output_for_mask`` (which Bidirectional sets for ``return_sequences``). With
``go_backwards`` the returned sequence is in processing order, as Keras returns it.
"""

from __future__ import annotations

from typing import Any

from gpukeras import activations, autodiff, constraints, initializers, regularizers
from gpukeras import backend as K
from gpukeras.layers._add_weight import set_constraints
from gpukeras.layers._keras_tensor import is_symbolic
from gpukeras.layers._layer import Layer, Shape
from gpukeras.layers._recurrent_dropout import RecurrentDropout, draw_masks
from gpukeras.layers._stateful_rnn import ResetStates, StatefulStates


class RNNBase(ResetStates, Layer):
    """Base of the recurrent layers (not public; see SimpleRNN, LSTM, GRU).

    Subclasses set ``gate_blocks`` (kernel columns per unit) and ``state_count``,
    and implement ``_allocate``, ``_forward_steps`` and ``_backward_steps``.
    """

    supports_masking = True
    gate_blocks = 1
    state_count = 1
    _MAX_BUFFER_SETS = 2
    call_state = ("_xs", "_mask", "_current", "_dropout_mask", "_recurrent_dropout")
    # The step buffers (projected inputs, states, gates) hold a call's activations.
    call_workspace = {"_buffers": dict}

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
        activity_regularizer: Any,
        kernel_constraint: Any,
        recurrent_constraint: Any,
        bias_constraint: Any,
        dropout: Any,
        recurrent_dropout: Any,
        seed: Any,
        return_sequences: bool,
        return_state: bool,
        go_backwards: bool,
        stateful: bool,
        unroll: bool,
        zero_output_for_mask: bool = False,
        use_cudnn: Any = "auto",
        implementation: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"{owner} units must be a positive int. Received: units={units!r}")
        set_constraints(
            self,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
        )
        if use_cudnn not in ("auto", True, False):
            raise ValueError(
                f"{owner}: use_cudnn must be 'auto', True or False. "
                f"Received: use_cudnn={use_cudnn!r}"
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
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        # A stateful layer's final states, carried into its next call (see _stateful_rnn.py).
        self._carried = StatefulStates(self) if self.stateful else None
        self.unroll = bool(unroll)  # the loop is the same either way
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.use_cudnn = use_cudnn
        self._buffers: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.initial_state_grads: list[Any] | None = None

    # -- weights ----------------------------------------------------------
    def build(self, input_shape: Shape) -> None:
        shape = tuple(input_shape)
        if len(shape) != 3 or shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} expects inputs of shape "
                f"(batch, timesteps, features) with known features. Received: input_shape={shape}"
            )
        if self._carried is not None:
            self._carried.fix_batch_size(shape[0], shape)
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
        for variable in self._weights:
            # Orthogonal initial values come back Fortran-ordered; the step loop and
            # in-place updates want C order.
            xp = K.get_array_module(variable.value)
            variable.value = xp.ascontiguousarray(variable.value)
            if variable.grad is not None:
                variable.grad = xp.zeros_like(variable.value)

    def _make_bias(self) -> Any:
        return self.add_weight(
            "bias",
            (self.gate_blocks * self.units,),
            self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def compute_output_shape(self, input_shape: Shape) -> Any:
        batch, steps = tuple(input_shape)[:2]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + [(batch, self.units)] * self.state_count
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self.state_count
        return output_mask

    # -- calling ----------------------------------------------------------
    def __call__(
        self,
        inputs: Any,
        initial_state: Any = None,
        mask: Any = None,
        training: Any = None,
    ) -> Any:
        """Apply the layer to ``(batch, timesteps, features)`` inputs, like Keras's call.

        Args:
            inputs: The sequences. Required.
            initial_state: List of initial state arrays (``[h]``, or ``[h, c]`` for LSTM);
                default ``None`` (zeros).
            mask: ``(batch, timesteps)`` booleans, False for steps to skip; default ``None``.
            training: Whether dropout is active; default ``False``.

        Returns:
            The output, or ``[output, *final_states]`` with ``return_state``.
        """
        if is_symbolic([inputs, initial_state, mask]):  # the functional API: a graph node
            states = {} if initial_state is None else {"initial_state": initial_state}
            return super().__call__(inputs, training=training, mask=mask, **states)
        if initial_state is None:  # Layer.__call__: on the tape when one records
            mask = None if mask is None else K.to_device(mask)
            return super().__call__(inputs, training=training, mask=mask)
        states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        if autodiff.is_recording():  # one node; the states get gradients like the inputs
            return self._call_on_tape(inputs, list(states), mask, training)
        x = K.to_device(inputs)
        self.ensure_built(tuple(x.shape))
        self.input_mask = None if mask is None else K.to_device(mask)
        return self.forward(x, training=bool(training), initial_state=initial_state)

    def _call_on_tape(self, inputs: Any, states: list[Any], mask: Any, training: Any) -> Any:
        from gpukeras.layers import _call

        self.ensure_built(tuple(autodiff.unwrap(inputs).shape))
        mask = None if mask is None else K.to_device(mask)
        extra = ("initial_state", states, "initial_state_grads")
        with autodiff.scope(self.name):
            training = bool(_call.resolve_training(training))
            return _call.builtin_node(self, inputs, training, mask, extra_inputs=extra)[0]

    def forward(self, x: Any, training: bool = False, initial_state: Any = None) -> Any:
        xp = K.get_array_module(x)
        x = self._checked_input(x)
        batch, steps, features = (int(d) for d in x.shape)
        buffers = self._buffers_for(xp, steps, batch)
        xs = x.transpose(1, 0, 2)
        if self.go_backwards:
            xs = xs[::-1]
        xs = xp.ascontiguousarray(xs)
        self._dropout_mask = None
        if training and self.dropout > 0:
            self._dropout_mask = self._make_dropout_mask(xp, batch, features)
            xs *= self._dropout_mask
        self._project_inputs(xp, xs, buffers["xw"])
        self._recurrent_dropout = None
        if training and self.recurrent_dropout > 0:
            self._recurrent_dropout = RecurrentDropout(
                xp, self._recurrent_masks(batch), self._dropped_recurrent_kernel()
            )
        mask = self._step_mask(xp, batch, steps)
        if self._carried is not None:
            self._carried.check_batch(batch)
            if initial_state is None:
                initial_state = self._carried.values
        self._set_initial_states(xp, buffers, batch, initial_state)
        self._forward_steps(xp, buffers, mask)
        if self._carried is not None:
            self._carried.keep([buffers[name][-1] for name in self._state_names()])
        self._xs, self._mask, self._current = xs, mask, buffers
        return self._outputs(xp, buffers, mask)

    def backward(self, grad: Any) -> Any:
        buffers, mask, xs = self._current, self._mask, self._xs
        xp = K.get_array_module(xs)
        steps, batch, features = (int(d) for d in xs.shape)
        grad_output, grad_states = self._split_grad(grad)
        dout_seq, dout_last = None, None
        if grad_output is not None:
            if self.return_sequences:
                dout_seq = grad_output.transpose(1, 0, 2)
                if self.zero_output_for_mask:
                    dout_seq = dout_seq * mask
            else:
                dout_last = grad_output * mask[-1] if self.zero_output_for_mask else grad_output
        dxw, self.initial_state_grads = self._backward_steps(
            xp, buffers, mask, dout_seq, dout_last, grad_states
        )
        flat_dxw = dxw.reshape(steps * batch, -1)
        if self.trainable:
            matmul_transposed_into(
                xp, xs.reshape(steps * batch, features), flat_dxw, self.kernel.grad
            )
            if self.bias is not None:
                self._set_input_bias_grad(flat_dxw.sum(axis=0))
        if not self.needs_input_grad:
            return None  # first layer of a training step: nothing reads it
        dxs = (flat_dxw @ self.kernel.value.T).reshape(steps, batch, features)
        if self._dropout_mask is not None:
            dxs *= self._dropout_mask
        if self.go_backwards:
            dxs = dxs[::-1]
        return xp.ascontiguousarray(dxs.transpose(1, 0, 2))

    # -- pieces of forward/backward ----------------------------------------
    def _project_inputs(self, xp: Any, xs: Any, xw: Any) -> None:
        """``xw[s] = xs[s] @ kernel + bias`` for every step, as few GEMMs as the layout allows."""
        steps, batch, features = (int(d) for d in xs.shape)
        kernel, bias = self.kernel.value, self._input_bias()
        if xw.flags.c_contiguous:
            flat = xw.reshape(steps * batch, -1)
            xp.matmul(xs.reshape(steps * batch, features), kernel, out=flat)
            if bias is not None:
                flat += bias
            return
        # Batch-minor steps (LSTM on NumPy): each step's (width, batch) transpose is
        # C-contiguous, so project each step transposed, and add the bias as one
        # (width, batch) plane so the add runs over contiguous memory.
        xw_t = xw.transpose(0, 2, 1)
        xp.matmul(kernel.T, xs.transpose(0, 2, 1), out=xw_t)
        if bias is not None:
            xw_t += xp.ascontiguousarray(xp.broadcast_to(bias[:, None], xw_t.shape[1:]))

    def _checked_input(self, x: Any) -> Any:
        if x.ndim != 3:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} expects inputs of shape "
                f"(batch, timesteps, features). Received: inputs with shape {tuple(x.shape)}"
            )
        features = self.kernel.shape[0]
        if int(x.shape[-1]) != features or int(x.shape[1]) == 0:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for {features} features and "
                f"needs at least one timestep. Received: inputs with shape {tuple(x.shape)}"
            )
        return x if x.dtype == self.dtype else x.astype(self.dtype)

    def _buffers_for(self, xp: Any, steps: int, batch: int) -> dict[str, Any]:
        key = (xp.__name__, steps, batch)
        buffers = self._buffers.get(key)
        if buffers is None:
            if len(self._buffers) >= self._MAX_BUFFER_SETS:
                self._buffers.clear()
            u, dtype = self.units, self.dtype
            buffers = {
                "xw": xp.empty((steps, batch, self.gate_blocks * u), dtype=dtype),
                "h": xp.empty((steps + 1, batch, u), dtype=dtype),
                "dh": xp.empty((batch, u), dtype=dtype),
                "dh_carry": xp.empty((batch, u), dtype=dtype),
                "ones": xp.ones((steps, batch, 1), dtype=dtype),
            }
            buffers.update(self._allocate(xp, steps, batch))
            self._buffers[key] = buffers
        return buffers

    def _step_mask(self, xp: Any, batch: int, steps: int) -> Any:
        """``(steps, batch, 1)`` floats in processing order: 1 runs a step, 0 skips it."""
        mask = self.input_mask
        if mask is None:
            return self._buffers[(xp.__name__, steps, batch)]["ones"]
        mask = xp.asarray(mask)
        if tuple(mask.shape) != (batch, steps):
            raise ValueError(
                f"{type(self).__name__} {self.name!r} needs a mask of shape (batch, timesteps) "
                f"= {(batch, steps)}. Received: mask with shape {tuple(mask.shape)}"
            )
        mask = mask.T if mask.dtype == self.dtype else mask.T.astype(self.dtype)
        if self.go_backwards:
            mask = mask[::-1]
        return xp.ascontiguousarray(mask)[:, :, None]

    def _set_initial_states(self, xp: Any, buffers: dict[str, Any], batch: int, given: Any) -> None:
        sequences = [buffers[name] for name in self._state_names()]
        if given is None:
            for sequence in sequences:
                sequence[0].fill(0.0)
            return
        given = list(given) if isinstance(given, (list, tuple)) else [given]
        if len(given) != len(sequences):
            raise ValueError(
                f"{type(self).__name__} {self.name!r} has {len(sequences)} state(s). "
                f"Received: initial_state with {len(given)} array(s)"
            )
        for sequence, state in zip(sequences, given):
            state = K.to_device(state)
            if tuple(state.shape) != (batch, self.units):
                raise ValueError(
                    f"Each initial state of {self.name!r} must have shape {(batch, self.units)}. "
                    f"Received: initial_state with shape {tuple(state.shape)}"
                )
            sequence[0] = state

    def _outputs(self, xp: Any, buffers: dict[str, Any], mask: Any) -> Any:
        h = buffers["h"]
        if self.return_sequences:
            sequence = h[1:] * mask if self.zero_output_for_mask else h[1:]
            output = xp.ascontiguousarray(sequence.transpose(1, 0, 2))
        else:
            output = h[-1] * mask[-1] if self.zero_output_for_mask else h[-1].copy()
        if self.return_state:
            return [output] + [buffers[name][-1].copy() for name in self._state_names()]
        return output

    def _split_grad(self, grad: Any) -> tuple[Any, list[Any]]:
        if not self.return_state:
            return grad, [None] * self.state_count
        grads = list(grad)
        if len(grads) != 1 + self.state_count:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} returns {1 + self.state_count} arrays; "
                f"backward needs one gradient (or None) each. Received: {len(grads)} gradients"
            )
        return grads[0], grads[1:]

    def _make_dropout_mask(self, xp: Any, batch: int, features: int) -> Any:
        # One mask per sequence, shared by every timestep (Keras's DropoutRNNCell).
        keep = K.random.uniform((batch, features), self.dtype, self._generator) >= self.dropout
        return keep.astype(self.dtype) * (1.0 / (1.0 - self.dropout))

    def _recurrent_masks(self, batch: int) -> Any:
        """One ``(batch, units)`` mask per gate block, for the whole sequence."""
        blocks, rate = self.gate_blocks, self.recurrent_dropout
        return draw_masks(rate, blocks, batch, self.units, self.dtype, self._generator)

    def _dropped_recurrent_kernel(self) -> Any:
        """The recurrent kernel columns whose product with ``h`` recurrent dropout masks."""
        return self.recurrent_kernel.value

    @staticmethod
    def _add_output_grad(dh: Any, step: int, steps: int, dout_seq: Any, dout_last: Any) -> None:
        """Add the gradient of step ``step``'s output to ``dh`` (that step's carried h)."""
        if dout_seq is not None:
            dh += dout_seq[step]
        elif dout_last is not None and step == steps - 1:
            dh += dout_last

    def _start_state_grads(
        self, buffers: dict[str, Any], names: list[str], finals: list[Any]
    ) -> None:
        """Fill each state's gradient buffer with the gradient given for the final state."""
        for name, final in zip(names, finals):
            if final is None:
                buffers[name].fill(0.0)
            else:
                buffers[name][...] = final

    def _input_bias(self) -> Any:
        return None if self.bias is None else self.bias.value

    def _set_input_bias_grad(self, value: Any) -> None:
        self.bias.grad[...] = value

    def _uses_fused_gates(self) -> bool:
        """Whether the activations are the defaults the fused gate kernels compute."""
        return _is_default(self.activation, "tanh") and _is_default(
            self.recurrent_activation, "sigmoid"
        )

    # -- subclass hooks ----------------------------------------------------
    def _state_names(self) -> list[str]:
        return ["h"]

    def _allocate(self, xp: Any, steps: int, batch: int) -> dict[str, Any]:
        return {}

    def _forward_steps(self, xp: Any, buffers: dict[str, Any], mask: Any) -> None:
        raise NotImplementedError

    def _backward_steps(
        self,
        xp: Any,
        buffers: dict[str, Any],
        mask: Any,
        dout_seq: Any,
        dout_last: Any,
        grad_states: list[Any],
    ) -> tuple[Any, list[Any]]:
        raise NotImplementedError

    def keras3_weight_groups(self) -> list[tuple[str, list[Any]]]:
        """Where Keras 3's ``.weights.h5`` keeps these weights, relative to the layer's group.

        Keras 3 stores a recurrent layer's weights in its cell: ``<layer>/cell/vars/<i>``,
        with an empty ``<layer>/vars``.
        """
        return [("vars", []), ("cell/vars", list(self.weights))]

    # -- penalties and configuration ----------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
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
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed,
            }
        )
        return config


def matmul_transposed_into(xp: Any, a: Any, b: Any, out: Any) -> None:
    """``out[...] = a.T @ b``, a weight gradient summed over every step and sample.

    When ``b`` is column-major (the batch-minor LSTM buffers), OpenBLAS is ~10% faster
    computing ``b.T @ a`` (both operands then read along rows) and transposing the
    small result than computing ``a.T @ b`` directly.
    """
    if b.strides[0] == b.itemsize and b.shape[1] > 1:
        out[...] = xp.matmul(b.T, a).T
    else:
        xp.matmul(a.T, b, out=out)


def _is_default(activation: Any, name: str) -> bool:
    return getattr(activation, "name", None) == name and bool(
        getattr(activation, "has_default_params", False)
    )


def _rate(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{owner}: {name} must be a float in [0, 1). Received: {name}={value!r}")
    return float(value)
