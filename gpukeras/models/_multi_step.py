"""The training step of a model with several outputs: one loss and its metrics per output.

It is the tape step (``_tape_step.TapeStep``) with the compiled loss spread over the
outputs as ``compile`` said (``_compile_outputs.OutputHead``): the total loss is the sum
of each trained output's loss times its ``loss_weights`` factor, plus the ``add_loss``
losses and weight penalties. Sequential and single-output models never come here, so
their fused step stays as it is.

The batch's statistics are ONE device vector, as for every step (the sync contract):

``[total * n, loss_1 * n, ..., loss_k * n, <output 1's metrics>, <output 2's>, ...]``

``loss_i`` being output i's unweighted loss (Keras logs it as ``<output>_loss``). A
metric takes one slot (its sum over the batch, or a stateful metric's change); a
weighted metric two (its weighted sum and the weights' sum, ones without weights). An
output that carries a mask (``Embedding(mask_zero=True)`` upstream) counts its valid
timesteps only, as ``_step.Step`` does for one output: its plain metrics take two slots
too (the sum over valid timesteps and their count).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpukeras import backend as K
from gpukeras.models import _masking
from gpukeras.models._compile_outputs import OutputHead
from gpukeras.models._stateful_metrics import is_stateful
from gpukeras.models._step import _masked_sums
from gpukeras.models._tape_loss import loss_on_tape
from gpukeras.models._tape_step import TapeStep, _in_loss_dtype


class MultiOutputStep(TapeStep):
    """One batch of a model whose output is a list or dict, through the tape.

    Args:
        model: The model (its ``call()`` returns the outputs). Required.
        heads: One :class:`OutputHead` per output, in the outputs' flat order. Required.
        metrics: Per output, its resolved metrics. Required.
        weighted_metrics: Per output, its resolved weighted metrics. Required.
        names: ``(metric names, weighted metric names)`` per output, as logged. Required.
        flatten: ``flatten(output) -> list`` in the heads' order. Required.
        optimizer: The optimizer. Required.
    """

    def __init__(
        self,
        model: Any,
        heads: list[OutputHead],
        metrics: list[list[Any]],
        weighted_metrics: list[list[Any]],
        names: tuple[list[list[str]], list[list[str]]],
        flatten: Callable[[Any], list[Any]],
        optimizer: Any,
    ) -> None:
        flat_plain = [m for ms in metrics for m in ms]
        flat_weighted = [m for ms in weighted_metrics for m in ms]
        super().__init__(model, None, 1.0, flat_plain, flat_weighted, optimizer)
        self.heads = heads
        self.per_output = list(zip(metrics, weighted_metrics))
        self.plain_names, self.weighted_log_names = names
        self.flatten = flatten
        self.output_masked = [False] * len(heads)  # set once a mask is seen, per output

    @property
    def trained(self) -> list[OutputHead]:
        return [head for head in self.heads if head.loss is not None]

    @property
    def loss_names(self) -> list[str]:
        """``<output>_loss`` keys, logged when more than one output trains (as Keras)."""
        trained = self.trained
        return [f"{head.loss_name}_loss" for head in trained] if len(trained) > 1 else []

    @property
    def metric_names(self) -> list[str]:
        """Every log key but ``loss``: per-output losses, then metrics in compile order."""
        flat = [n for names in self.plain_names for n in names]
        return self.loss_names + flat + [n for names in self.weighted_log_names for n in names]

    @property
    def compiled_metric_names(self) -> list[str]:
        """Metric names without the output prefix, as Keras orders ``evaluate``'s list."""
        return [m.name for m in self.metrics + self.weighted_metrics]

    def keras_order(self, values: dict[str, Any]) -> list[Any]:
        """evaluate's list as Keras 3 orders it: ``loss``; the metrics whose unprefixed
        names are log keys; the per-output losses; then every other key by name."""
        names = ["loss", *self.compiled_metric_names, *self.loss_names]
        first = [name for name in dict.fromkeys(names) if name in values]
        return [values[n] for n in first] + [values[k] for k in sorted(values) if k not in first]

    def log_entries(self, count: float, weighted: bool) -> list[tuple[str, int, Any]]:
        """How each log key is read from the stats vector (see the module docstring);
        ``weighted`` is unused: weighted metrics always keep their weights' sum."""
        count = float(count)
        entries: list[tuple[str, int, Any]] = [("loss", 0, count)]
        trained = len(self.trained)
        if trained > 1:
            entries += [(name, 1 + i, count) for i, name in enumerate(self.loss_names)]
        slot = 1 + trained
        for i, ((plain, weighted_metrics), plain_names, weighted_names) in enumerate(
            zip(self.per_output, self.plain_names, self.weighted_log_names)
        ):
            for metric, name in zip(plain, plain_names):
                if is_stateful(metric):
                    entries.append((name, slot, 1.0))
                elif self.output_masked[i]:  # a sum over valid timesteps and their count
                    entries.append((name, slot, slot + 1))
                    slot += 1
                else:
                    entries.append((name, slot, count))
                slot += 1
            for metric, name in zip(weighted_metrics, weighted_names):
                paired = not is_stateful(metric)
                entries.append((name, slot, slot + 1 if paired else 1.0))
                slot += 2 if paired else 1
        entries.sort(key=lambda entry: entry[0])  # Keras 3 orders log keys by name
        return entries

    # -- one batch ---------------------------------------------------------------------
    def _forward_and_loss(
        self, x: Any, y: Any, sample_weight: Any, layers: list[Any], training: bool
    ) -> tuple[Any, Callable[[Any], Any]]:
        from gpukeras import autodiff

        out, out_masks = self._forward_fresh(x, layers, training)
        outs = [_in_loss_dtype(part) for part in self.flatten(out)]
        masks = self._masks(out_masks, outs)
        weights = _per_output_weights(sample_weight, len(self.heads))
        total, values = None, []
        for head, y_i, out_i, w_i, mask in zip(self.heads, y, outs, weights, masks):
            if head.loss is None:
                continue
            value = loss_on_tape(head.loss, 1.0, y_i, out_i, w_i, mask)
            values.append(value)
            weighted = value if head.weight == 1.0 else value * head.weight
            total = weighted if total is None else total + weighted
        total = self._with_added_losses(total, layers)
        raw = [autodiff.unwrap(o) for o in outs]
        return total, lambda value: self._multi_stats(
            value, [autodiff.unwrap(v) for v in values], y, raw, weights, masks
        )

    def _masks(self, out_masks: Any, outs: list[Any]) -> list[Any]:
        """Each output's mask over its leading axes, or None; notes which outputs have one."""
        from gpukeras import autodiff

        given = [None] * len(outs) if out_masks is None else self.flatten(out_masks)
        masks = [
            None if m is None else _masking.output_mask(autodiff.unwrap(m), autodiff.unwrap(o))
            for m, o in zip(given, outs)
        ]
        self.output_masked = [b or m is not None for b, m in zip(self.output_masked, masks)]
        return masks

    def _multi_stats(
        self, total: Any, losses: list[Any], y: list, outs: list, weights: list, masks: list
    ) -> Any:
        xp = K.get_array_module(outs[0])
        n = float(outs[0].shape[0])
        parts = [total * n, *(value * n for value in losses)]
        stateful = self.stateful_metrics
        for metrics, y_i, out_i, w_i, mask in zip(self.per_output, y, outs, weights, masks):
            if mask is not None:
                parts += _masked_parts(stateful, metrics, y_i, out_i, w_i, mask)
                continue
            plain, weighted = metrics
            for metric in plain:
                if is_stateful(metric):
                    parts.append(stateful.delta(metric, y_i, out_i, None))
                else:
                    parts.append(metric.fn(y_i, out_i).sum())
            for metric in weighted:
                if is_stateful(metric):
                    parts.append(stateful.delta(metric, y_i, out_i, w_i))
                    continue
                values = metric.fn(y_i, out_i)
                if w_i is None:
                    parts += [values.sum(), n]
                else:
                    parts += [(values * w_i).sum(), w_i.sum()]
        return xp.stack([xp.asarray(p, dtype=xp.float64) for p in parts])


def _masked_parts(
    stateful: Any, metrics: tuple[list, list], y: Any, out: Any, weights: Any, mask: Any
) -> list[Any]:
    """An output's metric slots over its valid timesteps (``Step._stats``'s masked case)."""
    plain, weighted = metrics
    valid = mask.astype(out.dtype)
    parts: list[Any] = []
    for metric in plain:
        parts += _masked_sums(stateful, metric, y, out, valid)
    if weights is not None:
        valid = valid * weights.reshape(-1, 1)
    for metric in weighted:
        parts += _masked_sums(stateful, metric, y, out, valid)
    return parts


def _per_output_weights(sample_weight: Any, count: int) -> list[Any]:
    """Per-output sample weights: a list as given, one array for every output, or Nones."""
    if isinstance(sample_weight, list):
        return sample_weight
    return [sample_weight] * count
