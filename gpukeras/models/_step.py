"""One training or test step: forward, loss, metrics, backward, update.

A step returns its statistics as one small device vector laid out as
``[loss * n, sum of metric_1, ..., weighted sum of wmetric_1, sum of weights, ...]``
(the weight sums only when the batch has sample weights) so the fit loop can add
steps up on the device and the logs can read them in one transfer.

As in Keras 3, ``metrics`` ignore sample and class weights; ``weighted_metrics``
use them, and take a ``weighted_`` prefix when their name is already taken. When the
output carries a mask, every metric is a ``(sum, weight sum)`` pair over the valid
timesteps (see ``_masking``).
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.backend.kernels import dense as dense_kernels
from gpukeras.losses import CategoricalCrossentropy
from gpukeras.models import _masking
from gpukeras.models._stateful_metrics import StatefulMetrics, is_stateful


class Step:
    """The arithmetic of one batch for a compiled model.

    Args:
        model: The Sequential model (its ``layers``).
        loss: A ``gpukeras.losses.Loss``.
        loss_weight: Factor applied to the loss (``compile(loss_weights=...)``).
        metrics: Resolved metric wrappers with ``name`` and ``fn`` (unweighted).
        weighted_metrics: Resolved metric wrappers averaged with sample weights.
        optimizer: The optimizer, for training steps.
    """

    def __init__(
        self,
        model: Any,
        loss: Any,
        loss_weight: float,
        metrics: list[Any],
        weighted_metrics: list[Any],
        optimizer: Any,
    ) -> None:
        self.model = model
        self.loss = loss
        self.loss_weight = float(loss_weight)
        self.metrics = metrics
        self.weighted_metrics = weighted_metrics
        taken = {m.name for m in metrics}
        self.weighted_names = [
            f"weighted_{m.name}" if m.name in taken else m.name for m in weighted_metrics
        ]
        self.optimizer = optimizer
        self.masked = False  # set once an output mask is seen; fixed by the architecture
        self.stateful_metrics = StatefulMetrics()  # Metric objects driven by update_state

    @property
    def metric_names(self) -> list[str]:
        """Log names of all metrics, in compile order."""
        return [m.name for m in self.metrics] + self.weighted_names

    def log_entries(self, count: float, weighted: bool) -> list[tuple[str, int, Any]]:
        """How each log key is read out of an accumulated stats vector.

        ``count`` is the number of samples the vector covers (known on the host).
        """
        count = float(count)
        entries: list[tuple[str, int, Any]] = [("loss", 0, count)]
        slot = 1
        names = [m.name for m in self.metrics] + self.weighted_names
        paired = [self.masked] * len(self.metrics) + [self.masked or weighted] * len(
            self.weighted_names
        )
        kinds = [is_stateful(m) for m in self.metrics + self.weighted_metrics]
        for name, has_weight_sum, stateful in zip(names, paired, kinds):
            if stateful:  # the slot sums to the metric's result() (see StatefulMetrics)
                entries.append((name, slot, 1.0))
                slot += 1
                continue
            entries.append((name, slot, slot + 1 if has_weight_sum else count))
            slot += 2 if has_weight_sum else 1
        entries.sort(key=lambda entry: entry[0])  # Keras 3 orders log keys by name
        return entries

    # -- steps ------------------------------------------------------------
    def train(self, x: Any, y: Any, sample_weight: Any) -> Any:
        """Forward, backward and update on one batch; returns its stats vector."""
        layers = layer_stack(self.model)
        _set_scratch_outputs(layers, True)  # activations live in reused buffers for the step
        try:
            out, mask = self._forward(layers, x, training=True)
            out = self._in_loss_dtype(out)
            loss_value, grad = self._loss_and_output_grad(layers[-1], y, out, sample_weight, mask)
            scale = self._loss_scale()
            if scale == 1.0:
                self._backward(layers, grad)
            else:
                # float16 gradients stay above underflow; an overflow becomes inf, which
                # the LossScaleOptimizer sees and answers by skipping the step.
                with numpy.errstate(over="ignore", invalid="ignore"):
                    grad[1][...] *= scale
                    self._backward(layers, grad)
                self._scale_penalty_gradients(layers, scale)
        finally:
            _set_scratch_outputs(layers, False)
        self.optimizer.apply(self.model.trainable_weights)
        return self._stats(loss_value, y, out, sample_weight, mask)

    def test(self, x: Any, y: Any, sample_weight: Any) -> Any:
        """Loss and metrics on one batch, without updating; returns its stats vector."""
        out, mask = self._forward(layer_stack(self.model), x, training=False)
        out = self._in_loss_dtype(out)
        loss_value = self._loss_value(y, out, sample_weight, mask=mask)
        return self._stats(loss_value, y, out, sample_weight, mask)

    # -- pieces -----------------------------------------------------------
    def _forward(self, layers: list[Any], x: Any, training: bool) -> tuple[Any, Any]:
        out, mask = forward_pass(layers, x, training, return_mask=True)
        mask = _masking.output_mask(mask, out)
        self.masked = self.masked or mask is not None
        return out, mask

    def _loss_value(
        self, y: Any, out: Any, sample_weight: Any, per_sample: Any = None, mask: Any = None
    ) -> Any:
        if mask is not None:
            weights = _masking.timestep_weights(mask, out.dtype, sample_weight)
            per_sample = (self.loss.values(y, out) * weights).reshape(out.shape[0], -1)
            per_sample = per_sample.mean(axis=1)
        elif per_sample is None:
            per_sample = self.loss.per_sample(y, out)
        if sample_weight is not None and mask is None:
            per_sample = per_sample * sample_weight
        value = per_sample.sum() * (self.loss_weight / out.shape[0])
        for layer in layer_stack(self.model):
            for penalty in layer.penalties():
                value = value + penalty
        return value

    def _loss_and_output_grad(
        self, last: Any, y: Any, out: Any, sample_weight: Any, mask: Any = None
    ) -> tuple[Any, tuple[bool, Any]]:
        """The batch loss and the gradient to start backward from.

        Returns ``(loss, (fused, grad))``: ``fused`` means ``grad`` is already
        taken through the last layer's softmax/sigmoid (the stable combined
        gradient) and enters that layer below its activation.
        """
        fusable = (
            getattr(last, "activation", None) is not None
            and last.activity_regularizer is None
            and hasattr(last, "backward_preactivation")
        )
        if fusable and mask is None and self._softmax_crossentropy_fits(last, y, out):
            return self._softmax_crossentropy(y, out, sample_weight)
        loss_value = self._loss_value(y, out, sample_weight, mask=mask)
        grad = None
        if fusable:
            grad = self.loss.fused_grad(last.activation.name, y, out)
        fused = grad is not None
        if not fused:
            grad = self.loss.per_sample_grad(y, out)
        grad *= self.loss_weight / out.shape[0]
        if mask is not None:
            grad *= _masking.timestep_weights(mask, grad.dtype, sample_weight)[..., None]
        elif sample_weight is not None:
            grad *= sample_weight.reshape((-1,) + (1,) * (grad.ndim - 1))
        return loss_value, (fused, grad)

    # -- the fused softmax + categorical crossentropy head -----------------------------
    def _softmax_crossentropy_fits(self, last: Any, y: Any, out: Any) -> bool:
        """Whether the one-kernel head applies: softmax Dense + probability crossentropy."""
        loss = self.loss
        return (
            type(loss) is CategoricalCrossentropy
            and not loss.from_logits
            and loss.axis in (-1, 1)
            and getattr(last.activation, "name", None) == "softmax"
            and getattr(last.activation, "has_default_params", False)
            and out.ndim == 2
            and out.shape[1] > 1
            and K.is_device_array(y) == K.is_device_array(out)
            and tuple(y.shape) == tuple(out.shape)
            and y.dtype == out.dtype
        )

    def _softmax_crossentropy(
        self, y: Any, out: Any, sample_weight: Any
    ) -> tuple[Any, tuple[bool, Any]]:
        """Loss and logits gradient of softmax + crossentropy in one kernel (same numbers
        as ``CategoricalCrossentropy.per_sample`` and ``fused_grad``)."""
        buffers = self.__dict__.setdefault("_head_buffers", {})
        key = (tuple(out.shape), out.dtype.str, K.backend())
        found = buffers.get(key)
        if found is None:
            xp = K.get_array_module(out)
            found = buffers[key] = (xp.empty_like(out), xp.empty_like(out))
        grad, term = found
        targets = self.loss._targets(y)
        scale = self.loss_weight / out.shape[0]
        per_sample = dense_kernels.softmax_crossentropy(
            out, targets, scale, K.epsilon(), grad, term
        )
        loss_value = self._loss_value(y, out, sample_weight, per_sample=per_sample)
        if sample_weight is not None:
            grad *= sample_weight.reshape(-1, 1)
        return loss_value, (True, grad)

    # -- mixed precision --------------------------------------------------------------
    @staticmethod
    def _in_loss_dtype(out: Any) -> Any:
        """Float16/bfloat16 outputs in floatx for the loss and metrics (as Keras 3)."""
        if out.dtype.kind == "f" and out.dtype.itemsize < 4:
            return out.astype(K.floatx())
        return out

    def _loss_scale(self) -> float:
        """What the loss is multiplied by (``optimizer.scale_loss``), which ``apply`` divides
        back out: a LossScaleOptimizer's dynamic scale, an optimizer's static
        ``loss_scale_factor``, else 1.0."""
        scale = getattr(self.optimizer, "dynamic_scale", None)
        if scale is None:
            scale = getattr(self.optimizer, "loss_scale_factor", None)
        return float(scale or 1.0)

    @staticmethod
    def _scale_penalty_gradients(layers: list[Any], scale: float) -> None:
        """Bring weight-penalty gradients to the loss scale the data gradients carry.

        Layers add ``regularizer.gradient`` unscaled; the optimizer divides every gradient
        by the scale, so the penalty part is multiplied by it here.
        """
        for layer in layers:
            if layer.activity_regularizer is not None:
                raise NotImplementedError(
                    "Loss scaling (mixed_float16) does not support activity regularizers "
                    f"yet. Received: layer {layer.name!r} with an activity_regularizer"
                )
            for variable in layer.trainable_weights:
                if variable.regularizer is not None:
                    extra = variable.regularizer.gradient(variable.value) * (scale - 1.0)
                    variable.grad += extra.astype(variable.grad.dtype)

    @staticmethod
    def _backward(layers: list[Any], start: tuple[bool, Any]) -> None:
        fused, grad = start
        layers[0].needs_input_grad = False  # only for this backward pass
        try:
            remaining = layers
            if fused:
                last = layers[-1]
                grad = last.backward_preactivation(grad)
                last.add_penalty_gradients()
                remaining = layers[:-1]
            for layer in reversed(remaining):
                grad = layer.backward_with_penalties(grad)
        finally:
            layers[0].needs_input_grad = True

    def _stats(
        self, loss_value: Any, y: Any, out: Any, sample_weight: Any, mask: Any = None
    ) -> Any:
        xp = K.get_array_module(out)
        parts = [loss_value * float(out.shape[0])]
        stateful = self.stateful_metrics
        if mask is None:
            for metric in self.metrics:
                if is_stateful(metric):
                    parts.append(stateful.delta(metric, y, out, None))
                else:
                    parts.append(metric.fn(y, out).sum())
            for metric in self.weighted_metrics:
                if is_stateful(metric):
                    parts.append(stateful.delta(metric, y, out, sample_weight))
                else:
                    parts += _weighted_sums(metric.fn(y, out), sample_weight)
        else:
            weights = mask.astype(out.dtype)
            for metric in self.metrics:
                parts += _masked_sums(stateful, metric, y, out, weights)
            if sample_weight is not None:
                weights = weights * sample_weight.reshape(-1, 1)
            for metric in self.weighted_metrics:
                parts += _masked_sums(stateful, metric, y, out, weights)
        return xp.stack([xp.asarray(p, dtype=xp.float64) for p in parts])

    def reset_metrics(self) -> None:
        """Start stateful metrics afresh (each epoch, each evaluation), as Keras does."""
        self.stateful_metrics.reset(self.metrics + self.weighted_metrics)

    def resume_metrics(self) -> None:
        """Go on with stateful metrics as they are (an epoch resumed mid-way)."""
        self.stateful_metrics.resume(self.metrics + self.weighted_metrics)


def _masked_sums(stateful: StatefulMetrics, metric: Any, y: Any, out: Any, weights: Any) -> list:
    if is_stateful(metric):
        return [stateful.delta(metric, y, out, weights)]
    return _weighted_sums(_masking.per_element(metric.fn, y, out), weights)


def _weighted_sums(values: Any, weights: Any) -> list[Any]:
    """``[sum(values)]`` without weights, else ``[sum(values * weights), sum(weights)]``."""
    if weights is None:
        return [values.sum()]
    return [(values * weights).sum(), weights.sum()]


def _set_scratch_outputs(layers: list[Any], on: bool) -> None:
    for layer in layers:
        if hasattr(type(layer), "scratch_outputs"):
            layer.scratch_outputs = on


def layer_stack(model: Any) -> list[Any]:
    """The layers the fused step runs in order: a Sequential's, or those of a functional
    model that is a plain chain (``Functional._layer_stack``, without its InputLayer)."""
    stack = getattr(model, "_layer_stack", None)
    return model.layers if stack is None else stack()


def forward_pass(layers: list[Any], x: Any, training: bool, return_mask: bool = False) -> Any:
    """Run ``layers`` in order on ``x``, handing each layer its input's mask.

    Returns the output, or ``(output, its mask)`` with ``return_mask=True``.
    """
    mask = None
    for layer in layers:
        x, mask = layer.forward_tracked(x, training, mask)
    return (x, mask) if return_mask else x
