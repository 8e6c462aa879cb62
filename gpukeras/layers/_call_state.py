"""Per-call state of built-in layers, and the pullback that owns one call's state.

A built-in layer's ``forward`` keeps on ``self`` what its ``backward`` needs (its input,
its activations, the buffers they live in). That is cheap and right for the Sequential
fast path, which runs each layer once per step. A layer called twice in one step (a
shared layer) would lose its first call's state to the second call, so each layer
declares, as class attributes, what one call leaves behind (Chainer's ``retain_inputs``
idea, made explicit):

- ``call_state``: attribute names ``forward`` sets and ``backward`` reads;
- ``call_workspace``: ``{attribute: factory}`` for stores of reused arrays (im2col rows,
  recurrent step buffers, Winograd plans); a call through ``forward_with_pullback`` gets
  fresh stores, so nothing a later call writes can reach an earlier call's arrays;
- ``call_caches``: attributes ``forward`` may rebind that hold nothing of one call
  (shape-keyed plans), listed so the conformance test can tell them from forgotten state;
- ``call_children()``: the wrapped layers whose state is part of the call (TimeDistributed,
  Bidirectional).

:func:`forward_with_pullback` runs ``forward`` on fresh workspaces, captures the declared
attributes into a :class:`Pullback`, and puts the caller's workspaces back. The pullback
reinstalls its call's state around the layer's own ``backward`` and restores whatever was
there before, so pullbacks run in any order, any number of times.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K

# What every layer's forward may leave for its backward, besides its own declaration.
BASE_CALL_STATE = ("input_mask", "_output")
_ABSENT = object()


class CallState:
    """The declared attributes of one layer (and its children) at one moment.

    A layer that declares nothing (``call_state = None``: a hand-written layer) is kept
    whole: every attribute, and the layers among its attributes as children.
    """

    __slots__ = ("layer", "values", "children", "whole")

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.whole = layer.call_state is None
        if self.whole:
            self.values = dict(layer.__dict__)
        else:
            names = (*BASE_CALL_STATE, *layer.call_state, *layer.call_workspace)
            self.values = {name: layer.__dict__.get(name, _ABSENT) for name in names}
        self.children = [CallState(child) for child in children_of(layer)]

    def install(self) -> None:
        """Put these values back on the layers (removing attributes that were absent)."""
        attributes = self.layer.__dict__
        if self.whole:
            attributes.clear()
            attributes.update(self.values)
        for name, value in () if self.whole else self.values.items():
            if value is _ABSENT:
                attributes.pop(name, None)
            else:
                attributes[name] = value
        for child in self.children:
            child.install()


def children_of(layer: Any) -> list[Any]:
    """The declared children, or for a layer that declares nothing, its attribute layers."""
    return attribute_layers(layer) if layer.call_state is None else layer.call_children()


def attribute_layers(layer: Any) -> list[Any]:
    """The layers held in ``layer``'s attributes (directly or in a list or tuple)."""
    found: list[Any] = []
    for value in layer.__dict__.values():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if hasattr(item, "call_children") and not isinstance(item, type) and item is not layer:
                found.append(item)
    return found


class _Settings:
    """Flags a pullback sets for its run (and puts back): no scratch outputs, and whether
    the input gradient is wanted, on the layer and its children."""

    __slots__ = ("saved",)

    def __init__(self, layer: Any, need_input_grad: bool | None) -> None:
        self.saved: list[tuple[Any, dict[str, Any]]] = []
        self._apply(layer, need_input_grad)

    def _apply(self, layer: Any, need_input_grad: bool | None) -> None:
        attributes = layer.__dict__
        self.saved.append(
            (
                layer,
                {n: attributes.get(n, _ABSENT) for n in ("scratch_outputs", "needs_input_grad")},
            )
        )
        if hasattr(type(layer), "scratch_outputs"):
            attributes["scratch_outputs"] = False  # outputs must outlive the next call
        if need_input_grad is not None:
            attributes["needs_input_grad"] = bool(need_input_grad)
        for child in children_of(layer):
            self._apply(child, None)  # a wrapper sets its children's flag in backward

    def restore(self) -> None:
        for layer, values in self.saved:
            for name, value in values.items():
                if value is _ABSENT:
                    layer.__dict__.pop(name, None)
                else:
                    layer.__dict__[name] = value


def fresh_workspaces(layer: Any) -> None:
    """New, empty workspace stores on ``layer`` and its (declared) children."""
    if layer.call_state is not None:
        for name, factory in layer.call_workspace.items():
            layer.__dict__[name] = factory()
    for child in children_of(layer):
        fresh_workspaces(child)


def forward_with_pullback(
    layer: Any, x: Any, training: bool, mask: Any = None, **forward_kwargs: Any
) -> tuple[Any, Any, Pullback]:
    """``layer``'s output, its mask and the pullback of this call (see the module doc);
    ``forward_kwargs`` go to ``forward`` (an RNN's ``initial_state``)."""
    outer = CallState(layer)
    settings = _Settings(layer, None)
    try:
        fresh_workspaces(layer)
        y, y_mask = layer.forward_tracked(x, training, mask, **forward_kwargs)
        mine = CallState(layer)
    finally:
        settings.restore()
    # The call's own attributes stay on the layer (as after ``forward``), but the caller's
    # reused stores come back, so the fast path never writes into this call's arrays.
    _restore_workspaces(outer)
    return y, y_mask, Pullback(layer, mine, y)


def _restore_workspaces(state: CallState) -> None:
    attributes = state.layer.__dict__
    for name in () if state.whole else state.layer.call_workspace:
        value = state.values[name]
        if value is _ABSENT:
            attributes.pop(name, None)
        else:
            attributes[name] = value
    for child in state.children:
        _restore_workspaces(child)


class Pullback:
    """The backward of one call: ``pullback(grad_y, need_input_grad=True)``.

    Returns ``(grad_x or None, weight_grads)``: ``weight_grads`` is aligned with the
    layer's ``trainable_weights`` and holds new arrays the caller owns (the data gradient,
    with the activity regularizer's term; weight regularizers are left to the caller).
    ``output`` is the call's output; :meth:`activity_penalty` its penalty's value (a
    shared layer's penalty counts once per call, as in Keras).
    """

    __slots__ = ("layer", "state", "output")

    def __init__(self, layer: Any, state: CallState, output: Any) -> None:
        self.layer, self.state, self.output = layer, state, output

    def __call__(
        self, grad_y: Any, need_input_grad: bool = True, into_variables: bool = False
    ) -> tuple[Any, list[Any]]:
        """``into_variables``: write the weight gradients into the weights' own ``.grad``
        and return those arrays (only for the one writer of them in a training step: see
        ``layers/_gradient_sinks.py``)."""
        layer = self.layer
        grad_y = self._with_activity_term(grad_y)
        if into_variables:
            return self._into_variables(grad_y, need_input_grad)
        # Every weight with a gradient slot (a frozen wrapper's children too) gets a new,
        # zeroed one, so backward writes nothing into the model's shared gradients.
        variables = [v for v in layer.weights if getattr(v, "grad", None) is not None]
        held = [v.grad for v in variables]
        outer = CallState(layer)
        self.state.install()
        settings = _Settings(layer, need_input_grad)  # after: a whole layer's install resets
        try:
            for variable in variables:
                variable.grad = K.get_array_module(variable.grad).zeros_like(variable.grad)
            grad_x = layer.backward(grad_y)
            fresh = {id(v): v.grad for v in variables}
        finally:
            for variable, grad in zip(variables, held):
                variable.grad = grad
            settings.restore()
            outer.install()
        weight_grads = [fresh[id(v)] for v in layer.trainable_weights]
        return (grad_x if need_input_grad else None), weight_grads

    def _into_variables(self, grad_y: Any, need_input_grad: bool) -> tuple[Any, list[Any]]:
        """``backward`` with this call's state, writing into ``.grad`` as the fused step."""
        layer = self.layer
        outer = CallState(layer)
        self.state.install()
        settings = _Settings(layer, need_input_grad)
        try:
            grad_x = layer.backward(grad_y)
        finally:
            settings.restore()
            outer.install()
        weight_grads = [v.grad for v in layer.trainable_weights]
        return (grad_x if need_input_grad else None), weight_grads

    def activity_penalty(self) -> Any:
        """This call's activity penalty (a 0-d array, Keras 3's per-batch mean), or None."""
        regularizer = self.layer.activity_regularizer
        if regularizer is None:
            return None
        return regularizer(self.output) * (1.0 / float(self.output.shape[0]))

    def _with_activity_term(self, grad_y: Any) -> Any:
        """``grad_y`` plus the gradient of the activity penalty (Keras 3: over the batch)."""
        regularizer = self.layer.activity_regularizer
        if regularizer is None:
            return grad_y
        y = self.output
        return grad_y + regularizer.gradient(y) * (1.0 / float(y.shape[0]))
