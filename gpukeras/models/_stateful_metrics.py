"""Stateful ``Metric`` objects (``update_state``/``result``) inside the step's stats vector.

The fit loop adds step vectors up on the device and reads them once, lazily. A stateful
metric's ``result()`` is not a sum over batches, so its slots hold the CHANGE of
``result()`` this step (one slot per element: F1Score, Precision with several thresholds...
give a vector): the slots then add up to the latest ``result()`` since the last
:meth:`StatefulMetrics.reset`, which the trainer calls where Keras resets metrics (each
epoch, each evaluation). Nothing is read on the host.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K


def is_stateful(metric: Any) -> bool:
    """Whether the step drives ``metric`` through ``update_state``/``result``."""
    return getattr(metric, "fn", None) is None


class StatefulMetrics:
    """Each stateful metric's last ``result()``, to turn results into per-step changes."""

    def __init__(self) -> None:
        self._last: dict[int, Any] = {}
        self._widths: dict[int, int] = {}

    def width(self, metric: Any) -> int:
        """How many slots ``metric``'s result takes (its size; 1 before its first update)."""
        return self._widths.get(id(metric), 1)

    def reset(self, metrics: list[Any]) -> None:
        """``reset_state()`` every stateful metric, and forget the last results."""
        for metric in metrics:
            if is_stateful(metric):
                metric.reset_state()
        self._last.clear()

    def resume(self, metrics: list[Any]) -> None:
        """Go on from the metrics' current state (restored by BackupAndRestore mid-epoch,
        whose results the restored stats vector already holds)."""
        self._last.clear()
        for metric in metrics:
            if is_stateful(metric):
                self._last[id(metric)] = _result(metric)

    def delta(self, metric: Any, y: Any, out: Any, sample_weight: Any) -> Any:
        """Update ``metric`` with one batch; the change of its result, a 1-d float64 array."""
        if sample_weight is None:
            metric.update_state(y, out)
        else:
            metric.update_state(y, out, sample_weight=sample_weight)
        result = _result(metric)
        last = self._last.get(id(metric))
        self._last[id(metric)] = result
        self._widths[id(metric)] = result.size  # shape metadata: no device read
        return result if last is None or last.shape != result.shape else result - last


def build_states(metrics: list[Any], y: Any, out: Any) -> None:
    """Built-in metrics that make their state on the first batch (F1Score, R2Score, a
    multi-label AUC) make it now, from an empty batch shaped like the data, so that
    ``BackupAndRestore`` can put a mid-epoch state back before the first batch."""
    for metric in metrics:
        lazy = getattr(metric, "_built", True) is False
        if lazy and is_stateful(metric) and type(metric).__module__.startswith("gpukeras."):
            metric.update_state(y[:0], out[:0])


def _result(metric: Any) -> Any:
    """``metric.result()`` as a flat float64 device array of its own."""
    xp = K.array_module()
    # a copy: result() may hand out an array that the next update changes in place
    return xp.array(K.to_device(_raw(metric.result())), dtype=xp.float64).reshape(-1)


def _raw(value: Any) -> Any:
    """The array of a Variable or traced value (a result read straight off a variable)."""
    inner = getattr(value, "value", None)
    return value if inner is None or callable(inner) else inner


# -- exact resume (BackupAndRestore) -------------------------------------------------------------
_PREFIX = "metric_state_"


def _state_variables(model: Any) -> list[Any]:
    """The state variables of the compiled step's stateful metrics, in compile order."""
    step = getattr(model, "_step", None)
    if step is None:
        return []
    metrics = list(step.metrics) + list(step.weighted_metrics)
    return [v for m in metrics if is_stateful(m) for v in getattr(m, "variables", [])]


def state_arrays(model: Any) -> dict[str, Any]:
    """Host copies of the stateful metrics' variables, for a backup mid-epoch."""
    return {f"{_PREFIX}{i}": K.to_host(v.value) for i, v in enumerate(_state_variables(model))}


def restore_state(model: Any, arrays: dict[str, Any]) -> None:
    """Put :func:`state_arrays`' values back (a backup without them restores nothing)."""
    saved = sorted((key for key in arrays if key.startswith(_PREFIX)), key=len)
    if not saved:
        return
    variables = _state_variables(model)
    if len(saved) != len(variables):
        raise ValueError(
            f"The backup holds {len(saved)} metric state arrays but the model's metrics have "
            f"{len(variables)} state variables. Received: {len(saved)} arrays"
        )
    for i, variable in enumerate(variables):
        variable.assign(arrays[f"{_PREFIX}{i}"])
