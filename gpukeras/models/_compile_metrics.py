"""The metrics given to ``compile``, as one stateful metric (Keras 3's ``compile_metrics``).

A custom ``train_step`` updates them with ``update_state(y, y_pred, sample_weight)`` (or
through ``Model.compute_metrics``); ``result()`` is a dict ``{name: 0-d device array}``.
The metrics are resolved on the first update, when the shapes of ``y`` and ``y_pred``
pick ``'accuracy'``'s kind, as in ``fit``.
"""

from __future__ import annotations

from typing import Any

from gpukeras.metrics import Metric


class CompileMetrics(Metric):
    """``compile(metrics=..., weighted_metrics=...)`` of ``model``, updated together.

    Args:
        model: The compiled model (its metric ids, loss and sample weights' use).
    """

    def __init__(self, model: Any) -> None:
        super().__init__(name="compile_metrics")
        self._model = model
        self._plain: list[Any] | None = None
        self._weighted: list[Any] = []
        self._weighted_names: list[str] = []
        self._per_output: Any = None  # a model with several outputs: OutputMetrics

    @property
    def metrics(self) -> list[Any]:
        """The resolved metrics (empty before the first update)."""
        if self._per_output is not None:
            return self._per_output.metrics
        return list(self._plain or []) + self._weighted

    def _resolve(self, y: Any, y_pred: Any) -> None:
        from gpukeras import autodiff
        from gpukeras import metrics as metrics_module

        model = self._model
        loss = getattr(model, "loss", None)
        probe = autodiff.unwrap(y_pred)

        def get(ids: list[Any]) -> list[Any]:
            return [metrics_module.get(m, loss=loss, y_true=y, y_pred=probe) for m in ids]

        self._plain = get(getattr(model, "_metric_ids", []))
        self._weighted = get(getattr(model, "_weighted_metric_ids", []))
        taken = {m.name for m in self._plain}
        self._weighted_names = [
            f"weighted_{m.name}" if m.name in taken else m.name for m in self._weighted
        ]

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch to every compiled metric (weighted ones with ``sample_weight``)."""
        from gpukeras import autodiff
        from gpukeras import backend as K

        if isinstance(y_pred, (list, tuple, dict)):  # several outputs: each its own metrics
            if self._per_output is None:
                from gpukeras.models._multi_custom import OutputMetrics

                self._per_output = OutputMetrics(self._model)
            self._per_output.update_state(y_true, y_pred, sample_weight)
            return
        y_true = K.to_device(autodiff.unwrap(y_true))
        y_pred = autodiff.unwrap(y_pred)
        if self._plain is None:
            self._resolve(y_true, y_pred)
        for metric in self._plain or []:
            metric.update_state(y_true, y_pred)
        for metric in self._weighted:
            if sample_weight is None:
                metric.update_state(y_true, y_pred)
            else:
                weights = K.to_device(autodiff.unwrap(sample_weight))
                metric.update_state(y_true, y_pred, sample_weight=weights)

    def result(self) -> dict[str, Any]:
        """``{log name: result}`` of each compiled metric, in compile order."""
        if self._per_output is not None:
            return self._per_output.result()
        results = {m.name: m.result() for m in self._plain or []}
        for name, metric in zip(self._weighted_names, self._weighted):
            results[name] = metric.result()
        return results

    def reset_state(self) -> None:
        for metric in self.metrics:
            metric.reset_state()


def in_metrics_order(model: Any, logs: dict[str, Any]) -> Any:
    """Keras 3's list form of evaluate's logs: names of ``model.metrics`` (the compiled
    metrics' own names) in order, then the other keys sorted; one value alone as is."""
    names: list[str] = []
    for metric in model.metrics:
        inner = getattr(metric, "metrics", None)
        names += [m.name for m in inner] if isinstance(inner, list) else [metric.name]
    ordered = [logs[name] for name in names if name in logs]
    ordered += [logs[key] for key in sorted(logs) if key not in names]
    return ordered[0] if len(ordered) == 1 else ordered
