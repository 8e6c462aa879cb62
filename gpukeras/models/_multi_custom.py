"""A ``train_step``/``test_step`` override on a model with several outputs: what
``compute_loss`` and ``compute_metrics`` (``models/_custom_training.py``) do per output.

``y``, ``y_pred`` and ``sample_weight`` come as the step has them: a list in the outputs'
order or a dict keyed by output name (one weight array weighs every output), as in Keras.
"""

from __future__ import annotations

from typing import Any

from gpukeras.models._compile_outputs import OutputHead
from gpukeras.models._multi_data import flatten_output, heads


def compiled_loss(model: Any, y: Any, y_pred: Any, sample_weight: Any) -> Any:
    """``compute_loss``'s compiled part for a model with several outputs: the sum of each
    trained output's loss times its weight (``y`` and ``sample_weight`` as a list in the
    outputs' order, a dict by output name, or one weight array for every output)."""
    from gpukeras import backend as K
    from gpukeras.models._tape_loss import loss_on_tape

    model_heads = heads(model)
    outputs = flatten_output(model)(y_pred)
    targets = _in_output_order(model_heads, y, "y")
    if isinstance(sample_weight, (list, tuple, dict)):
        weights = _in_output_order(model_heads, sample_weight, "sample_weight")
    else:
        weights = [sample_weight] * len(model_heads)
    total = None
    for head, y_i, out_i, w_i in zip(model_heads, targets, outputs, weights):
        if head.loss is None:
            continue
        w_i = None if w_i is None else K.to_device(w_i)
        value = loss_on_tape(head.loss, 1.0, K.to_device(y_i), out_i, w_i, None)
        value = value if head.weight == 1.0 else value * head.weight
        total = value if total is None else total + value
    return total


def _in_output_order(model_heads: list[OutputHead], value: Any, argument: str) -> list[Any]:
    if isinstance(value, dict):
        return [value.get(head.name) for head in model_heads]
    if isinstance(value, (list, tuple)) and len(value) == len(model_heads):
        return list(value)
    raise ValueError(
        f"`{argument}` must hold one array per output ({len(model_heads)} outputs), as a list "
        f"or a dict keyed by output name. Received: {argument} of type {type(value).__name__}"
    )


class OutputMetrics:
    """The compiled metrics of a model with several outputs, for ``compute_metrics`` in a
    ``train_step`` override: each output's metrics under their log names
    (``cls_accuracy``), resolved against the first batch."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._per_head: list[tuple[list, list]] | None = None
        self._names: tuple[list, list] = ([], [])

    @property
    def metrics(self) -> list[Any]:
        return [m for plain, weighted in self._per_head or [] for m in plain + weighted]

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any) -> None:
        from gpukeras import autodiff
        from gpukeras import backend as K
        from gpukeras import metrics as metrics_module
        from gpukeras.models._compile_outputs import metric_log_names

        model_heads = heads(self.model)
        outputs = [autodiff.unwrap(o) for o in flatten_output(self.model)(y_pred)]
        targets = [
            K.to_device(autodiff.unwrap(t)) for t in _in_output_order(model_heads, y_true, "y")
        ]
        if isinstance(sample_weight, (list, tuple, dict)):
            weights = _in_output_order(model_heads, sample_weight, "sample_weight")
        else:
            weights = [sample_weight] * len(model_heads)
        if self._per_head is None:

            def get(ids: list[Any], head: OutputHead, y: Any, out: Any) -> list[Any]:
                return [metrics_module.get(m, loss=head.loss, y_true=y, y_pred=out) for m in ids]

            self._per_head = [
                (get(h.metric_ids, h, y, o), get(h.weighted_metric_ids, h, y, o))
                for h, y, o in zip(model_heads, targets, outputs)
            ]
            plain = [p for p, _ in self._per_head]
            self._names = metric_log_names(model_heads, plain, [w for _, w in self._per_head])
        for (plain, weighted), y, out, w in zip(self._per_head, targets, outputs, weights):
            for metric in plain:
                metric.update_state(y, out)
            w = None if w is None else K.to_device(autodiff.unwrap(w))
            for metric in weighted:
                metric.update_state(y, out, sample_weight=w)

    def result(self) -> dict[str, Any]:
        results: dict[str, Any] = {}
        plain_names, weighted_names = self._names
        for (plain, weighted), p_names, w_names in zip(
            self._per_head or [], plain_names, weighted_names
        ):
            results.update({n: m.result() for n, m in zip(p_names, plain)})
            results.update({n: m.result() for n, m in zip(w_names, weighted)})
        return results
