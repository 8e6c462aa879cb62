"""How a layer is called: a user's Keras 3 ``call()``, or a built-in layer on the tape.

Two kinds of layers meet here:

* a layer written the Keras 3 way defines ``call(inputs, training=None, mask=None)``
  (``training``/``mask`` optional). Its maths is ``gpukeras.ops``, so while a
  ``GradientTape`` records, the ops record their own gradients;
* a built-in layer (or a hand-written one) has ``forward``/``backward``. While the
  tape records it joins it as ONE node: ``forward_with_pullback`` gives its output
  and a pullback, which becomes the node's vector-Jacobian product.

``training`` that a caller leaves ``None`` is taken from the enclosing call (Keras's
call context), so a ``Dropout`` inside a custom layer trains when the model trains.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Iterator
from typing import Any

from gpukeras import backend as K
from gpukeras.layers._gradient_sinks import current_sinks
from gpukeras.layers._keras_tensor import is_symbolic, map_structure

Shape = tuple[Any, ...]

_context = threading.local()


# -- which kind of layer ----------
def uses_call(layer: Any) -> bool:
    """Whether ``layer``'s class defines Keras 3's ``call()`` (rather than forward/backward)."""
    return _defines_call(type(layer))


@functools.cache
def _defines_call(cls: type) -> bool:
    from gpukeras.layers._layer import Layer

    for klass in cls.__mro__:
        if klass is Layer:
            return False
        if "call" in klass.__dict__:
            return True
        if "forward" in klass.__dict__:
            return False
    return False


@functools.cache
def call_arguments(cls: type) -> tuple[bool, bool]:
    """``(takes training, takes mask)`` for ``cls.call``, as Keras inspects it."""
    try:
        parameters = inspect.signature(cls.call).parameters
    except (TypeError, ValueError):
        return False, False
    var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    return (
        "training" in parameters or var_keyword,
        "mask" in parameters or var_keyword,
    )


# -- the training flag of the enclosing call ----------
def current_training() -> bool | None:
    """The ``training`` value of the innermost call in progress, or ``None``."""
    return getattr(_context, "training", None)


@contextlib.contextmanager
def training_scope(training: bool | None) -> Iterator[None]:
    """Make ``training`` the value nested calls inherit when they are not told."""
    saved = getattr(_context, "training", None)
    _context.training = training
    try:
        yield
    finally:
        _context.training = saved


def resolve_training(training: Any) -> bool | None:
    """``training`` if given, else the enclosing call's."""
    if training is None:
        return current_training()
    return bool(training)


# -- calling ----------
def layer_call(layer: Any, inputs: Any, training: Any, mask: Any, kwargs: dict) -> Any:
    """``Layer.__call__``: the output of ``layer`` on ``inputs`` (see :func:`call_with_mask`);
    extra keyword arguments go to a ``call()`` that takes them. On KerasTensors (the
    functional API) the call is recorded instead (see ``_symbolic_call``)."""
    if is_symbolic(inputs):
        from gpukeras.layers._symbolic_call import symbolic_layer_call

        return symbolic_layer_call(layer, inputs, training, mask, kwargs)
    inputs = _as_input(inputs)
    if kwargs and not uses_call(layer):
        raise TypeError(
            f"Layer {layer.name!r} takes only inputs, training and mask. Received: {sorted(kwargs)}"
        )
    return call_with_mask(layer, inputs, training, mask, kwargs)[0]


def forward_by_call(layer: Any, x: Any, training: bool) -> Any:
    """``Layer.forward`` of a ``call()`` layer: its output as a plain array."""
    from gpukeras import autodiff

    if not uses_call(layer):
        raise NotImplementedError(
            f"{type(layer).__name__} must implement call(inputs) (or forward(x, training) "
            "and backward(grad))"
        )
    outputs, _ = call_with_mask(layer, x, training, layer.input_mask)
    return autodiff.unwrap(outputs)


def _as_input(inputs: Any) -> Any:
    """A Tensor, Variable or array of the backend as is; anything else on the device.
    A list of arrays (a merge layer's inputs) stays a list, each on the device."""
    if is_input_list(inputs):
        return [_as_input(x) for x in inputs]
    if hasattr(inputs, "value"):  # a traced Tensor or a Variable
        return inputs
    if isinstance(inputs, dict) or (
        isinstance(inputs, (list, tuple)) and any(hasattr(x, "shape") for x in inputs)
    ):  # several inputs (a model's, a multi-input call() layer's): each on its own
        return map_structure(_as_input, inputs)
    return K.to_device(inputs)


def is_input_list(inputs: Any) -> bool:
    """Whether ``inputs`` is several inputs (a list or tuple of arrays or Tensors), rather
    than one input written as nested lists of numbers."""
    return isinstance(inputs, (list, tuple)) and all(hasattr(x, "shape") for x in inputs)


def shape_of(inputs: Any) -> Any:
    """The input shape ``build`` gets: a tuple, or a list of tuples for several inputs (a
    dict of them for inputs given as a dict; nested structures alike)."""
    if isinstance(inputs, dict):
        return {key: shape_of(x) for key, x in inputs.items()}
    if isinstance(inputs, (list, tuple)) and not hasattr(inputs, "shape"):
        return [shape_of(x) for x in inputs]
    return tuple(inputs.shape)


def _on_device(inputs: Any) -> Any:
    """The raw device arrays of ``inputs`` (one, or a list)."""
    from gpukeras import autodiff

    if isinstance(inputs, list):
        return [K.to_device(autodiff.unwrap(x)) for x in inputs]
    return K.to_device(autodiff.unwrap(inputs))


def call_with_mask(
    layer: Any, inputs: Any, training: Any = None, mask: Any = None, extra: Any = None
) -> tuple:
    """Run ``layer`` on ``inputs``; returns ``(output, output mask)``.

    ``extra``: more keyword arguments for a ``call()`` that takes them.

    A ``call()`` layer runs its ``call`` (built on first use); a built-in layer runs its
    ``forward``, or, while a tape records, joins the tape as one node. A call that no
    other call encloses first empties the layer's ``add_loss`` list, as Keras does.
    """
    from gpukeras import autodiff

    training = resolve_training(training)
    layer.ensure_built(shape_of(inputs))
    if not getattr(_context, "depth", 0):
        layer.clear_losses()
    with training_scope(training), enclosing_call():
        if uses_call(layer):
            with autodiff.scope(layer.name):
                outputs = run_call(layer, inputs, training, mask, extra)
                outputs = _with_activity_penalty(layer, outputs)
            return outputs, layer.compute_mask(inputs, mask)
        if autodiff.is_recording() and _needs_gradient(layer, inputs):
            with autodiff.scope(layer.name):
                return _builtin_node(layer, inputs, bool(training), mask)
        outputs, out_mask = layer.forward_tracked(_on_device(inputs), bool(training), mask)
        if layer.activity_regularizer is not None:
            layer.add_loss(layer.activity_regularizer(outputs) * (1.0 / float(outputs.shape[0])))
        return outputs, out_mask


@contextlib.contextmanager
def enclosing_call() -> Iterator[None]:
    """Calls made inside are nested calls: they leave the ``add_loss`` losses alone (a
    training step that cleared every layer's losses itself runs its forward in one)."""
    _context.depth = getattr(_context, "depth", 0) + 1
    try:
        yield
    finally:
        _context.depth -= 1


def run_call(layer: Any, inputs: Any, training: bool | None, mask: Any, extra: Any = None) -> Any:
    """``layer.call(inputs, ...)`` with ``training``/``mask`` only when ``call`` takes them
    and they are known (``training=None`` leaves ``call``'s default, as Keras does)."""
    takes_training, takes_mask = call_arguments(type(layer))
    kwargs: dict[str, Any] = dict(extra or {})
    if takes_training and training is not None:  # else call's own default, as in Keras
        kwargs.setdefault("training", training)
    if takes_mask and mask is not None:
        kwargs.setdefault("mask", mask)
    return layer.call(inputs, **kwargs)


def _needs_gradient(layer: Any, inputs: Any) -> bool:
    return bool(layer.trainable_weights) or _input_needs_gradient(inputs)


def _input_needs_gradient(inputs: Any) -> bool:
    """Whether the tape wants the gradient of the layer's input: a traced value, or an
    array the tape watches; the model's own input data is neither, so the first layer
    skips computing it."""
    from gpukeras import autodiff

    if isinstance(inputs, list):
        return any(_input_needs_gradient(x) for x in inputs)
    return isinstance(inputs, autodiff.Tensor) or autodiff.needs_gradient(inputs)


def _builtin_node(layer: Any, inputs: Any, training: bool, mask: Any) -> tuple[Any, Any]:
    """A built-in layer as one tape node: its pullback is the node's VJP."""
    return builtin_node(layer, inputs, training, mask)


def builtin_node(
    layer: Any,
    inputs: Any,
    training: bool,
    mask: Any,
    extra_inputs: tuple[str, list[Any], str] | None = None,
) -> tuple[Any, Any]:
    """``layer`` on ``inputs`` as one tape node (its pullback is the node's VJP).

    A layer of several inputs (a merge layer: ``inputs`` is a list) is one node over all
    of them; its pullback returns one gradient per input.

    ``extra_inputs``: ``(argument, values, grads attribute)`` for a call argument that
    needs gradients too (an RNN's ``initial_state``): the values go to ``forward`` as that
    argument, join the node's inputs, and get the gradients ``backward`` leaves in the
    layer's ``grads attribute``.
    """
    from gpukeras import autodiff

    x = _on_device(inputs)
    argument, values, grads_attribute = extra_inputs or (None, [], None)
    kwargs = {argument: [K.to_device(autodiff.unwrap(v)) for v in values]} if argument else {}
    y, y_mask, pullback = layer.forward_with_pullback(x, training, mask, **kwargs)
    weights = layer.trainable_weights
    need_input_grad = _input_needs_gradient(inputs)
    several = isinstance(inputs, list)
    sinks = current_sinks()
    if sinks is not None:
        sinks.count(weights, len(y) if isinstance(y, (list, tuple)) else 1)

    def vjp(grad_y: Any) -> list[Any]:
        into = sinks is not None and sinks.take(weights)
        grad_x, weight_grads = pullback(
            grad_y, need_input_grad=need_input_grad, into_variables=into
        )
        extra = list(getattr(layer, grads_attribute)) if grads_attribute else []
        if several:
            grads = list(grad_x) if need_input_grad else [None] * len(inputs)
        else:
            grads = [grad_x if need_input_grad else None]
        return [*grads, *extra, *weight_grads]

    node_inputs = [*(inputs if several else [inputs]), *values, *weights]
    if isinstance(y, (list, tuple)):  # return_state: one node per output (see below)
        outputs: Any = [
            autodiff.record(part, node_inputs, _one_output_vjp(vjp, y, i), type(layer).__name__)
            for i, part in enumerate(y)
        ]
    else:
        outputs = autodiff.record(y, node_inputs, vjp, name=type(layer).__name__)
    if layer.activity_regularizer is not None:
        # The pullback already carries the penalty's gradient; the loss needs its value.
        batch = float(y.shape[0])
        layer.add_loss(layer.activity_regularizer(y) * (1.0 / batch))
    return outputs, y_mask


def _one_output_vjp(vjp: Any, outputs: list[Any], index: int) -> Any:
    """The VJP of output ``index`` alone: the pullback with zeros for the other outputs.

    The pullback is linear in its output gradients and may run any number of times, so the
    nodes of a layer's several outputs add up to its one backward over all of them.
    """

    def one(grad: Any) -> list[Any]:
        xp = K.get_array_module(grad)
        grads = [grad if i == index else xp.zeros_like(y) for i, y in enumerate(outputs)]
        return vjp(grads)

    return one


def _with_activity_penalty(layer: Any, outputs: Any) -> Any:
    """Keras adds ``activity_regularizer(outputs) / batch`` to a call() layer's losses."""
    regularizer = layer.activity_regularizer
    if regularizer is None:
        return outputs
    from gpukeras import autodiff

    value = autodiff.unwrap(outputs)
    scale = 1.0 / float(value.shape[0])

    def vjp(grad: Any) -> list[Any]:
        return [regularizer.gradient(value) * (grad * scale)]

    layer.add_loss(autodiff.record(regularizer(value) * scale, [outputs], vjp, name="activity"))
    return outputs


# -- output shapes ----------
_PROBE_SIZES = (2, 3)


def cached_output_shape(layer: Any, input_shape: Shape) -> Shape:
    """:func:`infer_output_shape`, run once per input shape (a Sequential asks again each
    time a layer is added)."""
    cache = layer.__dict__.setdefault("_inferred_output_shapes", {})
    if input_shape not in cache:
        cache[input_shape] = infer_output_shape(layer, input_shape)
    return cache[input_shape]


def infer_output_shape(layer: Any, input_shape: Shape) -> Shape:
    """The output shape of a ``call()`` layer, from running ``call`` on zeros.

    Unknown axes (``None``) are tried at two sizes: an output axis that follows them is
    unknown too. The run records nothing, leaves the global random streams and the
    layer's weights as they were (a ``call`` may ``assign``), and no ``add_loss``
    losses behind. A layer's own random generator (a ``SeedGenerator``) does advance.
    """
    from gpukeras import autodiff

    input_shape = tuple(input_shape)
    several = bool(input_shape) and all(isinstance(s, (list, tuple)) for s in input_shape)
    each = [tuple(s) for s in input_shape] if several else [input_shape]  # list inputs
    unknown = any(d is None for shape in each for d in shape[1:])
    shapes = []
    for size in _PROBE_SIZES if unknown else _PROBE_SIZES[:1]:
        probes = [_zeros(shape, size, layer.compute_dtype) for shape in each]
        probe = probes if several else probes[0]
        saved = K.random.get_state()
        values = [(v.value, v.value.copy()) for v in layer.weights]  # call() may assign
        try:
            with autodiff.scope(layer.name), training_scope(False):
                out = autodiff.unwrap(run_call(layer, probe, False, None))
        finally:
            K.random.set_state(saved)
            for value, before in values:
                value[...] = before
            layer.clear_losses()
        shapes.append(tuple(int(d) for d in out.shape))
    first = shapes[0]
    if any(len(shape) != len(first) for shape in shapes):
        raise ValueError(
            f"Layer {layer.name!r}: the rank of call()'s output depends on the input's "
            f"unknown axes, so its output shape cannot be inferred. Define "
            f"compute_output_shape(input_shape). Received: input_shape={input_shape}"
        )
    inferred = tuple(d if all(s[i] == d for s in shapes) else None for i, d in enumerate(first))
    if each[0] and each[0][0] is None and inferred and inferred[0] == _PROBE_SIZES[0]:
        inferred = (None, *inferred[1:])
    return inferred


def _zeros(shape: Shape, size: int, dtype: Any) -> Any:
    """A probe of ``shape`` whose unknown axes are ``size``."""
    return K.array_module().zeros(tuple(size if d is None else int(d) for d in shape), dtype)
