"""Keras 3's override points of a model's training: ``train_step``, ``test_step``,
``predict_step``, ``compute_loss``, ``compute_metrics`` and ``metrics``.

``fit``/``evaluate``/``predict`` call a model's own ``train_step``/``test_step``/
``predict_step`` only when its class overrides one (see ``_custom_step.CustomStep``);
otherwise the built-in steps run, unchanged. The defaults below are what ``super()``
gives an override, written the way the Keras guide writes a custom step: a
``GradientTape`` around the forward pass and ``compute_loss``, ``tape.gradient``,
``optimizer.apply(grads, variables)``, then ``compute_metrics``.

Every value stays on the device: the dicts a step returns hold 0-d device arrays that the
logs read lazily, once per epoch.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.models._compile_metrics import CompileMetrics
from gpukeras.utils._data_utils import unpack_x_y_sample_weight


class CustomTraining:
    """The overridable steps and the metrics they report, mixed into ``Model``."""

    # -- metrics -------------------------------------------------------------------
    @property
    def metrics(self) -> list[Any]:
        """The loss tracker and the compiled metrics (once compiled), then the Metric
        objects held in the model's attributes, as Keras 3 lists them."""
        from gpukeras.metrics import Metric

        found = list(self._compiled_trackers()) if self.compiled else []
        for name, value in vars(self).items():
            if isinstance(value, Metric) and not name.startswith("_compile"):
                if all(value is not known for known in found):
                    found.append(value)
        return found

    @property
    def metrics_names(self) -> list[str]:
        return [metric.name for metric in self.metrics]

    def _compiled_trackers(self) -> tuple[Any, Any]:
        """The ``loss`` tracker and ``compile_metrics`` (made by ``compile``)."""
        from gpukeras.metrics import Mean

        state = self.__dict__.get("_custom_state")
        if state is None:  # compile() forgets it, so the trackers match the compiled metrics
            state = {"loss": Mean(name="loss"), "compile_metrics": CompileMetrics(self)}
            object.__setattr__(self, "_custom_state", state)
        return state["loss"], state["compile_metrics"]

    @property
    def compiled_metrics(self) -> CompileMetrics:
        """The metrics given to ``compile`` as one metric (tf.keras's name)."""
        _require_compile(self, "compiled_metrics")
        return self._compiled_trackers()[1]

    def compiled_loss(self, y: Any, y_pred: Any, sample_weight: Any = None, **kwargs: Any):
        """The loss given to ``compile``, with its ``loss_weights`` (tf.keras's name)."""
        return self._compiled_loss_value(y, y_pred, sample_weight)

    def reset_metrics(self) -> None:
        """Reset every metric in :attr:`metrics` (``fit`` does it at each epoch's start)."""
        for metric in self.metrics:
            metric.reset_state()

    def get_metrics_result(self) -> dict[str, Any]:
        """``{name: result}`` of :attr:`metrics`; a dict result (the compiled metrics) is
        merged in key by key."""
        results: dict[str, Any] = {}
        for metric in self.metrics:
            value = metric.result()
            if isinstance(value, dict):
                results.update(value)
            else:
                results[metric.name] = value
        return results

    # -- loss ----------------------------------------------------------------------
    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """The compiled loss of ``y_pred`` against ``y`` plus the losses the layers added
        (``add_loss``, weight penalties); differentiable inside a ``GradientTape``."""
        total = None
        if getattr(self, "loss", None) is not None and y is not None:
            total = self._compiled_loss_value(y, y_pred, sample_weight)
        for extra in self._added_losses():
            total = extra if total is None else total + extra
        if total is None:
            return K.array_module().zeros((), dtype=K.floatx())
        return total

    def _compiled_loss_value(self, y: Any, y_pred: Any, sample_weight: Any) -> Any:
        from gpukeras.models._tape_loss import loss_on_tape

        _require_compile(self, "the compiled loss")
        if self.loss is None:
            raise ValueError(
                "The model was compiled without a loss, so there is no compiled loss to "
                "compute. Received: loss=None. Pass loss=... to compile()."
            )
        if isinstance(y_pred, (list, tuple, dict)):  # several outputs: each one's loss
            from gpukeras.models._multi_custom import compiled_loss

            return compiled_loss(self, y, y_pred, sample_weight)
        y = K.to_device(y)
        weights = None if sample_weight is None else K.to_device(sample_weight)
        return loss_on_tape(self.loss, self._loss_weight, y, y_pred, weights, None)

    @property
    def losses(self) -> list[Any]:
        """The losses ``add_loss`` collected in the last call (the model's and every layer's
        below it), then the weight regularizers' penalties, as Keras 3 lists them; inside a
        ``GradientTape`` each one is differentiable (``ops.sum(ops.stack(self.losses))``
        in a ``compute_loss`` override trains the regularizers)."""
        return self._added_losses()

    def _added_losses(self) -> list[Any]:
        from gpukeras.models import _tracking
        from gpukeras.models._tape_step import _penalty_node

        layers = _tracking.all_layers(self)
        found = [loss for layer in layers for loss in layer.__dict__.get("_call_losses", [])]
        for layer in layers:
            for variable in layer.__dict__.get("_weights", []) if layer.trainable else []:
                if variable.trainable and variable.regularizer is not None:
                    found.append(_penalty_node(variable))
        return found

    def compute_metrics(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None
    ) -> dict[str, Any]:
        """Update the compiled metrics with one batch; :meth:`get_metrics_result`."""
        if self.compiled:
            self._compiled_trackers()[1].update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    # -- the steps -----------------------------------------------------------------
    def train_step(self, data: Any) -> dict[str, Any]:
        """One update on one batch ``data``; returns ``{metric name: value}``.

        Override it to change what ``fit`` does per batch; see docs/custom-models.md.
        """
        from gpukeras import autodiff

        x, y, sample_weight = unpack_x_y_sample_weight(data)
        variables = self.trainable_weights
        with autodiff.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
            scaled = self.optimizer.scale_loss(loss)  # mixed precision: times the scale
        with numpy.errstate(over="ignore", invalid="ignore"):
            # a scaled float16 gradient may overflow: the LossScaleOptimizer skips that step
            grads = tape.gradient(scaled, variables)
        self.optimizer.apply(grads, variables)
        self._track_loss(loss, x)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict[str, Any]:
        """Loss and metrics on one batch ``data``, without updating."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
        )
        self._track_loss(loss, x)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's output for the inputs of one batch ``data``."""
        from gpukeras import autodiff

        x, _, _ = unpack_x_y_sample_weight(data)
        return autodiff.unwrap(self(x, training=False))

    def _track_loss(self, loss: Any, x: Any) -> None:
        from gpukeras import autodiff

        if self.compiled:
            batch = int(x.shape[0]) if getattr(x, "shape", None) else 1
            tracker = self._compiled_trackers()[0]
            tracker.update_state(autodiff.unwrap(loss), sample_weight=float(batch))


def _require_compile(model: Any, what: str) -> None:
    if not model.compiled:
        raise RuntimeError(
            f"{what} exists once the model is compiled: call compile() first. Example: "
            "model.compile(optimizer='adam', loss='mse'). Received: an uncompiled model"
        )
