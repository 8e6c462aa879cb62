"""The Layer base class: weights made in ``build``, ``forward`` and ``backward`` by hand."""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras import constraints, initializers, regularizers
from gpukeras._naming import to_snake_case, unique_name
from gpukeras.layers import _add_weight, _call_state, _tracking
from gpukeras.layers._node import GraphAccessors
from gpukeras.mixed_precision._policy import resolve as resolve_policy
from gpukeras.variables import Variable

Shape = tuple[Any, ...]


class Layer(GraphAccessors):
    """Base class of every layer.

    Masks (Keras's ``mask_zero`` and friends) travel beside the data: before
    calling ``forward`` the model sets ``layer.input_mask`` to the mask of the
    layer's input (or ``None``), and asks ``compute_mask`` for the mask of its
    output. Layers that pass masks through unchanged set ``supports_masking``.

    During training the model sets ``needs_input_grad`` to False on the first
    layer: nothing uses the gradient with respect to the data, so a layer may
    skip computing it (and return ``None`` from ``backward``).

    A subclass is written one of two ways:

    - the Keras 3 way: weights in ``build(input_shape)`` with :meth:`add_weight`,
      the maths in ``call(inputs, training=None, mask=None)`` with
      ``gpukeras.ops`` (``training``/``mask`` are passed only if ``call`` takes
      them), optionally ``compute_output_shape`` (else inferred by running
      ``call`` on zeros) and :meth:`add_loss`. The tape differentiates ``call``;
      layers kept in attributes are tracked as sublayers (their weights follow
      this layer's own);
    - the hand-written way (every built-in layer): ``forward(x, training)`` and,
      in ``backward(grad)``, the gradient with respect to the input, writing each
      trainable weight's gradient into ``variable.grad``.

    Per-call state: ``forward`` keeps what ``backward`` needs on ``self``, and
    the layer declares those attributes in ``call_state`` (reused array stores
    in ``call_workspace``, shape-keyed plans in ``call_caches``, wrapped layers
    in :meth:`call_children`). :meth:`forward_with_pullback` uses the
    declaration to give each call a pullback that owns that call's state, so a
    layer called twice in one step (a shared layer) gets both gradients right.
    Every built-in layer declares; an attribute its ``forward`` sets but does
    not declare fails tests/test_call_state.py. A layer that declares nothing
    (``call_state = None``, the default) has all its attributes kept per call.

    Args:
        trainable: Whether the layer's weights are updated by training.
            Default ``True``.
        name: Unique layer name; default derived from the class name
            (``dense``, ``dense_1``, ...).
        dtype: Float type of the weights, or a dtype policy name such as
            ``'mixed_float16'`` (float32 weights, float16 math); default ``None``
            (the global policy, ``backend.floatx()`` unless set).
        activity_regularizer: Penalty on the layer's output added to the
            loss; default ``None``.
        input_shape: Shape of one sample (without the batch axis), for the
            first layer of a ``Sequential``; default ``None``.
        input_dim: Legacy shorthand for ``input_shape=(input_dim,)``.
        batch_input_shape: Shape including the batch axis; default ``None``.
        batch_size: Fixed batch size to record with ``input_shape``.
    """

    supports_masking = False

    #: Attributes ``forward`` sets and ``backward`` reads: one call's state (``input_mask``
    #: and ``_output`` are always included). ``None``, the default for a hand-written
    #: layer, keeps every attribute (and the layers among them) per call instead.
    call_state: tuple[str, ...] | None = None
    #: ``{attribute: factory}``: stores of reused arrays; each call through
    #: :meth:`forward_with_pullback` works in fresh ones made by ``factory()``.
    call_workspace: dict[str, Any] = {}
    #: Attributes ``forward`` may rebind that hold no call's data (shape-keyed plans).
    call_caches: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        trainable: bool = True,
        name: str | None = None,
        dtype: Any = None,
        activity_regularizer: Any = None,
        input_shape: Shape | None = None,
        input_dim: int | None = None,
        batch_input_shape: Shape | None = None,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Layer name must be a string. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.__dict__["_trainable"] = bool(trainable)  # as Keras: set, not propagated
        # A dtype policy: ``dtype`` keeps the variables' dtype, ``compute_dtype`` the math's.
        self.dtype_policy = resolve_policy(dtype)
        self.dtype = self.dtype_policy.variable_dtype
        self.compute_dtype = self.dtype_policy.compute_dtype
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.batch_input_shape = _batch_shape(input_shape, input_dim, batch_input_shape, batch_size)
        self.built = False
        self.input_shape: Shape | None = None
        self._weights: list[Variable] = []
        self._output: Any = None
        self.input_mask: Any = None
        self.needs_input_grad = True

    # -- building ---------------------------------------------------------
    def build(self, input_shape: Shape) -> None:
        """Create the layer's weights for inputs of ``input_shape`` (batch axis first)."""

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The output shape for ``input_shape``.

        The identity for built-in layers unless overridden; for a layer that defines
        ``call()``, inferred by running ``call`` once on zeros (see ``_call``). A
        Keras 1 layer's ``get_output_shape_for`` answers when it defines one.
        """
        from gpukeras.layers import _call

        legacy = getattr(self, "get_output_shape_for", None)
        if legacy is not None:
            self.ensure_built(tuple(input_shape))
            return tuple(legacy(tuple(input_shape)))
        if _call.uses_call(self):
            self.ensure_built(tuple(input_shape))
            return _call.cached_output_shape(self, tuple(input_shape))
        return tuple(input_shape)

    def ensure_built(self, input_shape: Shape) -> None:
        """Build once, for the first input shape seen."""
        if not self.built:
            self.build(tuple(input_shape))
            self.input_shape = tuple(input_shape)
            self.built = True

    def add_weight(self, *args: Any, **kwargs: Any) -> Variable:
        """Create a weight (Keras 3's arguments, or Keras 2's order with the name first).

        Args:
            shape: Weight shape; default ``()``.
            initializer: Initializer or its id; default ``'glorot_uniform'``
                for trainable weights and ``'zeros'`` otherwise.
            dtype: Float type; default the layer's dtype.
            trainable: Whether training updates it; default ``True``.
            regularizer: Penalty added to the loss; default ``None``.
            name: Weight name (``kernel``, ``bias``, ...); default
                ``variable``, ``variable_1``, ...

        Keras 3's ``constraint`` (applied by the optimizer after each update) and
        ``overwrite_with_gradient`` are honoured; ``autocast`` and ``aggregation`` are
        accepted. ``add_weight('kernel', shape, initializer, ...)`` (a name first) takes
        Keras 2's order, as the built-in layers write it.
        """
        arguments = _add_weight.weight_arguments(args, kwargs)
        name, shape, initializer = arguments["name"], arguments["shape"], arguments["initializer"]
        dtype, trainable = arguments["dtype"], arguments["trainable"]
        regularizer = arguments["regularizer"]
        shape = tuple(int(d) for d in (shape or ()))
        if initializer is None:
            initializer = "glorot_uniform" if trainable else "zeros"
        name = name or ("variable" if not self._weights else f"variable_{len(self._weights)}")
        value = initializers.get(initializer)(shape, dtype=dtype or self.dtype)
        variable = Variable(
            value,
            name=name,
            path=f"{self.name}/{name}",
            trainable=trainable,
            regularizer=regularizers.get(regularizer),
        )
        variable.constraint = constraints.get(arguments["constraint"])
        variable.overwrite_with_gradient = arguments["overwrite_with_gradient"]
        if trainable:
            variable.grad = K.array_module().zeros_like(variable.value)
        self._weights.append(variable)
        return variable

    add_variable = _add_weight.add_variable

    # -- computing --------------------------------------------------------
    def __call__(self, inputs: Any, training: Any = None, mask: Any = None, **kwargs: Any) -> Any:
        """Apply the layer (built on first use), like Keras's eager call.

        A layer that defines Keras 3's ``call()`` runs it, passing ``training`` and
        ``mask`` only when ``call`` accepts them; a built-in layer runs ``forward``, or,
        inside a ``GradientTape``, joins the tape as one node. ``training=None`` takes
        the enclosing call's value (``False`` at the top). Extra keyword arguments go
        to ``call``.
        """
        from gpukeras.layers import _call

        return _call.layer_call(self, inputs, training, mask, kwargs)

    def forward(self, x: Any, training: bool = False) -> Any:
        """The layer's output for input ``x``; keep what ``backward`` needs.

        A layer that defines ``call()`` needs no ``forward``: this runs ``call``.
        """
        from gpukeras.layers import _call

        return _call.forward_by_call(self, x, training)

    def backward(self, grad: Any) -> Any:
        """Gradient w.r.t. the input, given ``grad`` w.r.t. the output; fills weight grads."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad)")

    # -- per-call state (shared layers; see gpukeras/layers/_call_state.py) -
    def call_children(self) -> list[Layer]:
        """Wrapped layers whose per-call state belongs to this layer's call."""
        return []

    def forward_with_pullback(
        self, x: Any, training: bool, mask: Any = None, **forward_kwargs: Any
    ) -> tuple[Any, Any, Any]:
        """``(y, y_mask, pullback)`` for one call; the pullback owns the call's state.

        ``pullback(grad_y, need_input_grad=True)`` returns ``(grad_x or None,
        weight_grads)``, ``weight_grads`` aligned with :attr:`trainable_weights` as new
        arrays (the data gradient plus the activity regularizer's term, without the weight
        regularizers' gradients). Calling the layer again, or running ``backward``, does
        not change what an earlier pullback computes (the weights themselves are read
        when it runs, so update them only after the step's pullbacks).
        """
        from gpukeras.layers._call import shape_of

        self.ensure_built(shape_of(x))
        return _call_state.forward_with_pullback(self, x, training, mask, **forward_kwargs)

    # -- losses added in call() ------------------------------------------------
    def add_loss(self, loss: Any) -> None:
        """Add ``loss`` (a scalar computed in ``call``) to the loss the model minimizes.

        As in Keras, the list is emptied at the start of each model step.
        """
        self.__dict__.setdefault("_call_losses", []).append(loss)

    def clear_losses(self) -> None:
        """Forget the losses ``add_loss`` collected (this layer and its sublayers)."""
        for layer in [self, *_tracking.sublayers(self)]:
            layer.__dict__["_call_losses"] = []

    @property
    def losses(self) -> list[Any]:
        """Losses from ``add_loss`` and the weight regularizers' penalties (Keras's order:
        the added losses first), this layer's and its sublayers'."""
        found = []
        for layer in [self, *_tracking.sublayers(self)]:
            found += list(layer.__dict__.get("_call_losses", []))
        for variable in self.trainable_weights:
            if variable.regularizer is not None:
                found.append(variable.regularizer(variable.value))
        return found

    # -- penalties (used by the model's training step) ---------------------
    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the output: ``mask`` passed on if ``supports_masking``, else None."""
        return mask if self.supports_masking else None

    def forward_tracked(
        self, x: Any, training: bool, mask: Any = None, **forward_kwargs: Any
    ) -> tuple[Any, Any]:
        """``forward`` with ``input_mask`` set; returns the output and its mask.

        Keeps the output when an activity penalty needs it.
        """
        self.input_mask = mask
        y = self.forward(x, training=training, **forward_kwargs)
        if self.activity_regularizer is not None:
            self._output = y
        return y, self.compute_mask(x, mask)

    def backward_with_penalties(self, grad: Any) -> Any:
        """``backward`` plus the gradients of this layer's regularization penalties."""
        if self.activity_regularizer is not None:
            batch = float(self._output.shape[0])
            grad = grad + self.activity_regularizer.gradient(self._output) * (1.0 / batch)
        grad_in = self.backward(grad)
        self.add_penalty_gradients()
        return grad_in

    def add_penalty_gradients(self) -> None:
        """Add each weight regularizer's gradient to that weight's gradient."""
        for variable in self.trainable_weights:
            if variable.regularizer is not None:
                variable.grad += variable.regularizer.gradient(variable.value)

    def penalties(self) -> list[Any]:
        """This layer's regularization losses as 0-d arrays (after a training forward)."""
        found = [
            v.regularizer(v.value) for v in self.trainable_weights if v.regularizer is not None
        ]
        if self.activity_regularizer is not None and self._output is not None:
            # Keras 3 divides the activity penalty by the batch size.
            batch = float(self._output.shape[0])
            found.append(self.activity_regularizer(self._output) * (1.0 / batch))
        return found

    @property
    def trainable(self) -> bool:
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        _tracking.set_trainable(self, value)

    # -- weights ----------------------------------------------------------
    @property
    def weights(self) -> list[Variable]:
        """All weights: trainable first, then non-trainable (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        own = [w for w in self._weights if w.trainable]
        return _tracking.with_sublayer_weights(self, own, "trainable_weights")

    @trainable_weights.setter
    def trainable_weights(self, variables: list[Variable]) -> None:
        _add_weight.adopt_weights(self, variables, trainable=True)

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            own = list(self._weights)
            return _tracking.with_sublayer_weights(self, own, "weights")
        own = [w for w in self._weights if not w.trainable]
        return _tracking.with_sublayer_weights(self, own, "non_trainable_weights")

    @non_trainable_weights.setter
    def non_trainable_weights(self, variables: list[Variable]) -> None:
        _add_weight.adopt_weights(self, variables, trainable=False)

    def get_weights(self) -> list[numpy.ndarray]:
        """The weights as host NumPy arrays, in :attr:`weights` order."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Overwrite the weights from arrays in :attr:`weights` order."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Layer {self.name!r} expects {len(own)} weight arrays "
                f"({[w.name for w in own]}). Received: {len(weights)} arrays"
            )
        for variable, value in zip(own, weights):
            variable.assign(value)

    def count_params(self) -> int:
        """Number of scalars in the layer's weights."""
        if not self.built:
            raise ValueError(
                f"You tried to call count_params on layer {self.name!r}, but the layer "
                "isn't built. Build it first (call it on data or give it an input_shape)."
            )
        return int(sum(numpy.prod(w.shape, dtype=numpy.int64) for w in self.weights))

    # -- configuration ----------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that recreate this layer (without weights)."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable}
        config["dtype"] = self.dtype_policy.name
        if self.batch_input_shape is not None:
            config["batch_input_shape"] = list(self.batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """A new layer from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _batch_shape(
    input_shape: Shape | None,
    input_dim: int | None,
    batch_input_shape: Shape | None,
    batch_size: int | None,
) -> Shape | None:
    given = [
        (n, v)
        for n, v in (
            ("input_shape", input_shape),
            ("input_dim", input_dim),
            ("batch_input_shape", batch_input_shape),
        )
        if v is not None
    ]
    if len(given) > 1:
        names = ", ".join(n for n, _ in given)
        received = ", ".join(f"{n}={v!r}" for n, v in given)
        raise TypeError(f"Pass only one of {names}. Received: {received}")
    if batch_input_shape is not None:
        return tuple(batch_input_shape)
    if input_dim is not None:
        input_shape = (input_dim,)
    if input_shape is None:
        return None
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    return (batch_size, *tuple(input_shape))
