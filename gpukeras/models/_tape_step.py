"""The general training step: forward inside a ``GradientTape``, ``tape.gradient``, update.

Used for every model that is not the pure built-in case (see :func:`make_step`): a layer
that defines ``call()``, a ``Lambda``, a loss without a hand-written gradient. Built-in
layers still run their own forward and backward, each as one node on the tape.

The step keeps the fused step's contracts (``_step.Step``): the same stats vector, read
lazily by the logs, and no value read on the host (the dynamic loss scale is a Python
float the optimizer keeps, used as the backward seed). Gradients are copied into each
variable's ``.grad`` so the optimizer (and ``DistributedOptimizer``'s in-place allreduce
of the flat gradient buffer) runs exactly as after the fused step.

A model whose forward is an arbitrary ``call()`` reuses :class:`TapeStep` by passing
``forward(x, training) -> (output, output mask)``, ``variables()`` (the trainable
variables) and ``layers()`` (every layer whose ``add_loss`` losses count).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.layers import _call, _tracking
from gpukeras.layers._gradient_sinks import gradient_sinks
from gpukeras.models import _masking
from gpukeras.models._step import Step
from gpukeras.models._tape_loss import has_hand_gradient, loss_on_tape


def make_step(
    model: Any,
    loss: Any,
    loss_weight: float,
    metrics: list[Any],
    weighted_metrics: list[Any],
    optimizer: Any,
) -> Step:
    """The fused :class:`Step` for a Sequential of forward/backward layers and a loss with a
    hand-written gradient (bit for bit today's step); a :class:`TapeStep` otherwise."""
    arguments = (model, loss, loss_weight, metrics, weighted_metrics, optimizer)
    if uses_fused_step(model, loss):
        return Step(*arguments)
    return TapeStep(*arguments)


def uses_fused_step(model: Any, loss: Any) -> bool:
    """Whether ``model`` trains with the fused step (no ``call()`` layer, a loss with its
    own gradient, the Sequential's own forward)."""
    layers = getattr(model, "layers", None)
    if loss is None or layers is None or not getattr(model, "_fused_step_ok", True):
        return False
    return has_hand_gradient(loss) and not any(_call.uses_call(layer) for layer in layers)


class TapeStep(Step):
    """One batch through the tape, for a compiled model.

    Args:
        model: The model (a Sequential unless ``forward``/``variables``/``layers`` say
            otherwise).
        loss, loss_weight, metrics, weighted_metrics, optimizer: as :class:`Step`.
        forward: ``forward(x, training) -> (output, output mask or None)``; default: the
            Sequential's layers in order, each through ``Layer.__call__``.
        variables: ``variables() -> list of trainable Variables``; default
            ``model.trainable_weights``.
        layers: ``layers() -> list of layers`` whose ``add_loss`` losses and weight
            penalties join the loss; default ``model.layers`` (their sublayers included).
    """

    def __init__(
        self,
        model: Any,
        loss: Any,
        loss_weight: float,
        metrics: list[Any],
        weighted_metrics: list[Any],
        optimizer: Any,
        forward: Callable[[Any, bool], tuple[Any, Any]] | None = None,
        variables: Callable[[], list[Any]] | None = None,
        layers: Callable[[], list[Any]] | None = None,
    ) -> None:
        super().__init__(model, loss, loss_weight, metrics, weighted_metrics, optimizer)
        self.forward = forward or (lambda x, training: sequential_forward(model, x, training))
        self.variables = variables or (lambda: model.trainable_weights)
        self.layers = layers or (lambda: model.layers)

    # -- steps ------------------------------------------------------------
    def train(self, x: Any, y: Any, sample_weight: Any) -> Any:
        """Forward and loss on the tape, gradients into ``.grad``, update; the stats vector."""
        from gpukeras import autodiff

        variables = self.variables()
        _give_gradient_buffers(variables)
        layers = self._all_layers()
        with gradient_sinks() as sinks:
            with autodiff.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(variables)
                total, stats = self._forward_and_loss(x, y, sample_weight, layers, training=True)
            with sinks.backward():
                grads = self._gradients(tape, total, variables)
        self._apply(grads, variables)
        return stats(autodiff.unwrap(total))

    def test(self, x: Any, y: Any, sample_weight: Any) -> Any:
        """Loss and metrics on one batch, without updating; returns its stats vector."""
        from gpukeras import autodiff

        total, stats = self._forward_and_loss(
            x, y, sample_weight, self._all_layers(), training=False
        )
        return stats(autodiff.unwrap(total))

    # -- pieces -----------------------------------------------------------
    def _forward_and_loss(
        self, x: Any, y: Any, sample_weight: Any, layers: list[Any], training: bool
    ) -> tuple[Any, Callable[[Any], Any]]:
        """The batch's total loss (a Tensor while recording) and ``stats(loss value)``,
        which makes the batch's stats vector once the loss is known."""
        from gpukeras import autodiff

        out, mask = self._run_forward(x, layers, training)
        total = self._total_loss(y, out, sample_weight, mask, layers)
        return total, lambda value: self._stats(value, y, autodiff.unwrap(out), sample_weight, mask)

    def _all_layers(self) -> list[Any]:
        """``layers()`` and every layer below them, each once."""
        from gpukeras.models import _tracking as _model_tracking
        from gpukeras.models._model import Model

        found, seen = [], set()
        for layer in self.layers():
            if isinstance(layer, Model):  # a model's attributes are noted as they are set
                below = _model_tracking.all_layers(layer)
            else:
                below = [layer, *_tracking.sublayers(layer)]
            for each in below:
                if id(each) not in seen:
                    seen.add(id(each))
                    found.append(each)
        return found

    def _run_forward(self, x: Any, layers: list[Any], training: bool) -> tuple[Any, Any]:
        out, mask = self._forward_fresh(x, layers, training)
        mask = _masking.output_mask(mask, out)
        self.masked = self.masked or mask is not None
        return _in_loss_dtype(out), mask

    def _forward_fresh(self, x: Any, layers: list[Any], training: bool) -> tuple[Any, Any]:
        """``forward(x, training)`` with every layer's ``add_loss`` losses cleared first."""
        for layer in layers:  # every layer below the model: each clears only its own
            layer.__dict__["_call_losses"] = []
        with _call.enclosing_call():  # so the model's call does not clear them again
            return self.forward(x, training)

    def _total_loss(self, y: Any, out: Any, sample_weight: Any, mask: Any, layers: list) -> Any:
        """The compiled loss, plus ``add_loss`` losses and the weight penalties."""
        total = loss_on_tape(self.loss, self.loss_weight, y, out, sample_weight, mask)
        return self._with_added_losses(total, layers)

    @staticmethod
    def _with_added_losses(total: Any, layers: list[Any]) -> Any:
        """``total`` plus the ``add_loss`` losses and weight penalties of ``layers``."""
        for layer in layers:
            for added in layer.__dict__.get("_call_losses", []):
                total = total + _in_dtype(added, _dtype(total))
            for variable in layer._weights if layer.trainable else []:
                if variable.trainable and variable.regularizer is not None:
                    total = total + _in_dtype(_penalty_node(variable), _dtype(total))
        return total

    def _gradients(self, tape: Any, total: Any, variables: list[Any]) -> list[Any]:
        """The gradients of ``total``, seeded with the loss scale (a layer that is the only
        writer of its weights' gradients leaves them in ``.grad`` itself)."""
        scale = self._loss_scale()
        if scale == 1.0:
            return tape._gradient_arrays(total, variables)
        # float16 gradients stay above underflow; an overflow becomes inf, which the
        # LossScaleOptimizer sees and answers by skipping the step.
        with numpy.errstate(over="ignore", invalid="ignore"):
            return tape._gradient_arrays(total, variables, output_gradients=scale)

    def _apply(self, grads: list[Any], variables: list[Any]) -> None:
        """Copy the gradients into ``.grad`` (the optimizer's flat buffer) and update."""
        xp = K.array_module()
        missing = False
        for variable, grad in zip(variables, grads):
            if grad is None:
                missing = True
                continue
            if grad is variable.grad:
                continue  # written there by its layer's backward
            if grad.dtype != variable.grad.dtype:
                grad = grad.astype(variable.grad.dtype)
            xp.copyto(variable.grad, grad)
        if not missing:
            self.optimizer.apply(variables)
            return
        given = [None if g is None else v.grad for g, v in zip(grads, variables)]
        self.optimizer.apply(given, variables)


def sequential_forward(model: Any, x: Any, training: bool) -> tuple[Any, Any]:
    """The Sequential's layers in order through ``Layer.__call__``; ``(output, mask)``."""
    mask = None
    for layer in model.layers:
        x, mask = _call.call_with_mask(layer, x, training, mask)
    return x, mask


def _give_gradient_buffers(variables: list[Any]) -> None:
    """A ``.grad`` array for every variable (one made outside ``add_weight`` may lack it)."""
    for variable in variables:
        if getattr(variable, "grad", None) is None:
            variable.grad = K.get_array_module(variable.value).zeros_like(variable.value)


def _penalty_node(variable: Any) -> Any:
    """A weight regularizer's penalty as one node (its gradient is ``reg.gradient``)."""
    from gpukeras import autodiff

    regularizer = variable.regularizer
    value = variable.value

    def vjp(grad: Any) -> list[Any]:
        g = regularizer.gradient(value)
        return [g * grad.astype(g.dtype)]

    return autodiff.record(regularizer(value), [variable], vjp, name="regularizer")


def _dtype(x: Any) -> Any:
    from gpukeras import autodiff

    return autodiff.unwrap(x).dtype


def _in_dtype(x: Any, dtype: Any) -> Any:
    from gpukeras import autodiff, ops

    if isinstance(x, autodiff.Tensor):
        return x if x.dtype == dtype else ops.cast(x, dtype)
    x = K.to_device(x)
    return x if x.dtype == dtype else x.astype(dtype)


def _in_loss_dtype(out: Any) -> Any:
    """Float16/bfloat16 outputs in floatx for the loss and metrics (as Keras 3)."""
    from gpukeras import autodiff, ops

    dtype = autodiff.unwrap(out).dtype
    if dtype.kind == "f" and dtype.itemsize < 4:
        return ops.cast(out, K.floatx())
    return out
