"""Stateful ``Metric`` objects (``update_state``/``result``) inside the step's stats vector.

The fit loop adds step vectors up on the device and reads them once, lazily. A stateful
metric's ``result()`` is not a sum over batches, so its slot holds the CHANGE of
``result()`` this step: the slots then add up to the latest ``result()`` since the last
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

    def reset(self, metrics: list[Any]) -> None:
        """``reset_state()`` every stateful metric, and forget the last results."""
        for metric in metrics:
            if is_stateful(metric):
                metric.reset_state()
        self._last.clear()

    def delta(self, metric: Any, y: Any, out: Any, sample_weight: Any) -> Any:
        """Update ``metric`` with one batch; the change of its result, a 0-d float64 array."""
        if sample_weight is None:
            metric.update_state(y, out)
        else:
            metric.update_state(y, out, sample_weight=sample_weight)
        xp = K.get_array_module(out)
        # a copy: result() may hand out an array that the next update changes in place
        result = xp.array(K.to_device(_raw(metric.result())), dtype=xp.float64).reshape(())
        last = self._last.get(id(metric))
        self._last[id(metric)] = result
        return result if last is None else result - last


def _raw(value: Any) -> Any:
    """The array of a Variable or traced value (a result read straight off a variable)."""
    inner = getattr(value, "value", None)
    return value if inner is None or callable(inner) else inner
