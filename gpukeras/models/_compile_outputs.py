"""``compile(loss=..., loss_weights=..., metrics=..., weighted_metrics=...)`` spread over a
model's several outputs, with Keras 3's rules (``keras/src/trainers/compile_utils.py``):

* one loss (not a list or dict) is used for every output;
* a list gives one entry per output, in the outputs' order; a dict is keyed by output
  name, and a key that names no output is an error;
* an output whose loss is ``None`` (or missing from a loss dict over dict outputs) does
  not train;
* with several outputs, a flat list of metrics whose length is not the number of outputs
  is an error: say which output each metric is for.

Log keys are Keras's: ``loss``, then ``<output>_loss`` for each trained output when more
than one trains (the loss's own name when outputs have no names), and
``<output>_<metric>`` for metrics (the metric's name alone without output names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpukeras import losses as losses_module


@dataclass
class OutputHead:
    """What the compiled model does with one of its outputs.

    Args:
        name: The output's name (a dict key or a functional output's name), or ``None``.
        loss: The resolved loss, or ``None``: the output does not train.
        loss_name: The name its loss is logged by (``<loss_name>_loss``).
        weight: ``loss_weights``'s factor for it.
        metric_ids: Its ``metrics`` (ids or objects, resolved later against its data).
        weighted_metric_ids: Its ``weighted_metrics``.
    """

    name: str | None
    loss: Any
    loss_name: str
    weight: float = 1.0
    metric_ids: list[Any] = field(default_factory=list)
    weighted_metric_ids: list[Any] = field(default_factory=list)


def is_per_output(value: Any) -> bool:
    """Whether a compile argument is given per output: a list, tuple or dict (not a
    serialized object's config, ``{"class_name": ..., "config": ...}``)."""
    if isinstance(value, dict):
        return "class_name" not in value
    return isinstance(value, (list, tuple))


def output_heads(
    names: list[str | None],
    dict_outputs: bool,
    loss: Any,
    loss_weights: Any,
    metrics: Any,
    weighted_metrics: Any,
) -> list[OutputHead]:
    """One :class:`OutputHead` per output (``names`` in the outputs' flat order)."""
    losses = _per_output(loss, names, "loss", missing_ok=dict_outputs)
    weights = _loss_weights(loss_weights, names, is_per_output(loss))
    plain = _metrics_per_output(metrics, names, "metrics")
    weighted = _metrics_per_output(weighted_metrics, names, "weighted_metrics")
    heads = []
    for name, given, weight, ids, weighted_ids in zip(names, losses, weights, plain, weighted):
        resolved = None if given is None else losses_module.get(given)
        loss_name = name or (given if isinstance(given, str) else getattr(resolved, "name", ""))
        heads.append(OutputHead(name, resolved, loss_name, weight, ids, weighted_ids))
    return heads


def _keyed(value: dict[str, Any], names: list[str | None], argument: str) -> None:
    unknown = [key for key in value if key not in names]
    if unknown:
        raise ValueError(
            f"`{argument}` is keyed by output name, and the model has no output named "
            f"{unknown[0]!r}. {known_outputs(names)} Received: {argument}={value!r}"
        )


def known_outputs(names: list[Any]) -> str:
    """What a message says about the outputs' names."""
    if all(n is None for n in names):
        return (
            f"Its {len(names)} outputs have no names (a subclassed model returning a list): "
            "give a list in their order."
        )
    return f"Its outputs are {[n for n in names if n is not None]}."


def _per_output(value: Any, names: list[str | None], argument: str, missing_ok: bool) -> list:
    count = len(names)
    if isinstance(value, dict) and is_per_output(value):
        _keyed(value, names, argument)
        missing = [n for n in names if n not in value]
        if missing and not missing_ok:
            raise ValueError(
                f"`{argument}` as a dict needs a key for every output {names}: missing "
                f"{missing}. Received: {argument}={value!r}"
            )
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(
                f"`{argument}` as a list needs one entry per output: the model has {count} "
                f"outputs. Received: {argument} with {len(value)} entries"
            )
        return list(value)
    return [value] * count


def _loss_weights(loss_weights: Any, names: list[str | None], per_output: bool) -> list[float]:
    """Each output's factor. One number scales the one loss given for every output; with a
    loss per output, as in Keras, the weights must be given per output too."""
    if loss_weights is None:
        return [1.0] * len(names)
    if per_output and not is_per_output(loss_weights):
        raise ValueError(
            f"`loss_weights` must match the number of losses: {len(names)} outputs each have "
            f"a loss. Give a list or a dict keyed by output name. "
            f"Received: loss_weights={loss_weights!r}"
        )
    if isinstance(loss_weights, dict):
        _keyed(loss_weights, names, "loss_weights")
        given = [loss_weights.get(n, 1.0) for n in names]
    else:
        given = _per_output(loss_weights, names, "loss_weights", missing_ok=True)
    for weight in given:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValueError(
                f"`loss_weights` must hold numbers. Received: loss_weights={loss_weights!r}"
            )
    return [float(w) for w in given]


def _metrics_per_output(metrics: Any, names: list[str | None], argument: str) -> list[list]:
    count = len(names)
    if not metrics:
        return [[] for _ in names]
    if isinstance(metrics, dict):
        _keyed(metrics, names, argument)
        return [_as_list(metrics.get(n)) for n in names]
    if isinstance(metrics, (list, tuple)) and len(metrics) == count:
        return [_as_list(m) for m in metrics]
    raise ValueError(
        f"`{argument}` must say which output each metric is for: a list with one entry "
        f"(a metric, a list of metrics or None) per output ({count} outputs), or a dict "
        f"keyed by output name. Received: {argument}={metrics!r}"
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def metric_log_names(heads: list[OutputHead], plain: list[list], weighted: list[list]) -> tuple:
    """Keras's log names of the resolved metrics, per output: ``(plain names, weighted
    names)``; a repeated name takes ``_1``, ``_2``... and a weighted metric whose name is
    taken a ``weighted_`` prefix, as ``CompileMetrics.result`` names them."""
    taken: dict[str, int] = {}

    def unique(name: str) -> str:
        if name not in taken:
            taken[name] = 1
            return name
        index = taken[name]
        taken[name] += 1
        return f"{name}_{index}"

    def prefixed(head: OutputHead, name: str) -> str:
        return f"{head.name}_{name}" if head.name else name

    plain_names = [[unique(prefixed(h, m.name)) for m in ms] for h, ms in zip(heads, plain)]
    weighted_names = []
    for head, metrics in zip(heads, weighted):
        names = []
        for metric in metrics:
            name = prefixed(head, metric.name)
            names.append(
                unique(name if name not in taken else prefixed(head, f"weighted_{metric.name}"))
            )
        weighted_names.append(names)
    return plain_names, weighted_names


def single_loss_weight(loss_weights: Any) -> float:
    if loss_weights is None:
        return 1.0
    if isinstance(loss_weights, dict) and len(loss_weights) == 1:
        loss_weights = next(iter(loss_weights.values()))
    if isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1:
        loss_weights = loss_weights[0]
    if isinstance(loss_weights, bool) or not isinstance(loss_weights, (int, float)):
        raise ValueError(
            "`loss_weights` must be a number (or a one-element list/dict) for a model with "
            f"one output. Received: loss_weights={loss_weights!r}"
        )
    return float(loss_weights)


def metric_list(metrics: Any, argument: str) -> list[Any]:
    if metrics is None:
        return []
    if isinstance(metrics, (str, dict)) or callable(metrics):
        metrics = [metrics]
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(
            f"`{argument}` must be a list of metric ids or objects. "
            f"Received: {argument}={metrics!r}"
        )
    return list(metrics)


def loss_and_weight(loss: Any, loss_weights: Any) -> tuple[Any, float]:
    """``compile``'s ``(model.loss, loss weight)``: a resolved loss and its factor; for
    losses given per output the structure as given (resolved once the outputs are known;
    a one-entry list or dict stands for its one loss)."""
    if is_per_output(loss) and len(loss) == 1:
        only = next(iter(loss.values())) if isinstance(loss, dict) else loss[0]
        if not is_per_output(only):
            loss = only
    if is_per_output(loss):
        return loss, 1.0
    weight = 1.0 if _several(loss_weights) else single_loss_weight(loss_weights)
    return (None if loss is None else losses_module.get(loss)), weight


def _several(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict)) and len(value) > 1


def is_sparse(loss: Any) -> bool:
    """Whether ``loss`` takes integer class labels (its targets are not one-hot)."""
    return type(loss).__name__.startswith("Sparse") or getattr(loss, "sparse", False)


def saved_form(value: Any) -> Any:
    """A per-output compile argument as the compile config keeps it (Keras 3 writes the
    structure): names stay, objects become their names; one loss object is ``None`` (the
    file's writer serializes ``model.loss`` itself)."""
    if not is_per_output(value):
        return None
    return _named_leaves(value)


def saved_metrics(given: Any, ids: list[Any]) -> Any:
    """``metrics``/``weighted_metrics`` as the compile config keeps them: the names of a flat
    list as before; a per-output list of lists or dict as its structure of names."""
    per_output = isinstance(given, dict) and is_per_output(given)
    if per_output or any(isinstance(m, (list, tuple)) for m in ids):
        return _named_leaves(given)
    return [m for m in ids if isinstance(m, str)]


def _named_leaves(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, dict) and is_per_output(value):
        return {key: _named_leaves(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_named_leaves(v) for v in value]
    return getattr(value, "name", None) or getattr(value, "__name__", None)
