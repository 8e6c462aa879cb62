"""The fit loop's step for a model that overrides ``train_step`` or ``test_step``.

The loop adds step vectors up on the device and the logs read the sum once, lazily (see
``_step.Step``). A custom step returns a dict of running metric results instead, and
Keras 3's epoch logs are the last dict of the epoch. So each step's vector holds the
CHANGE of every result since the previous step (the first step: the result itself): the
loop's running sum is then the latest dict, and nothing is read on the host. ``fit``
resets the metrics (and this difference) where Keras does: each epoch, each evaluation.

One cost: the logs have one slot per returned key (one per element for a vector result,
logged as a NumPy array as Keras does), so the keys must be the same at every step of a
phase (training, testing).
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras.utils._data_utils import pack_x_y_sample_weight

# Keras's default steps call compute_loss and compute_metrics: overriding one of them
# changes what fit and evaluate do, so the model's own (default) steps run then too.
_STEP_METHODS = ("train_step", "test_step", "compute_loss", "compute_metrics")


def overrides_step(model: Any) -> bool:
    """Whether ``model``'s class brings its own ``train_step``, ``test_step``,
    ``compute_loss`` or ``compute_metrics``."""
    from gpukeras.models._custom_training import CustomTraining

    return any(
        getattr(type(model), name) is not getattr(CustomTraining, name) for name in _STEP_METHODS
    )


class CustomStep:
    """Runs ``model.train_step``/``model.test_step`` for the fit loop, as ``Step`` does.

    Args:
        model: The compiled model whose steps to run.
    """

    masked = False

    def __init__(self, model: Any) -> None:
        self.model = model
        self._names: dict[str, list[str] | None] = {"train": None, "test": None}
        self._widths: dict[str, list[int]] = {"train": [], "test": []}
        self._phase = "train"
        self._last: Any = None
        self._resumed_total: Any = None

    def resume_epoch(self, total: Any) -> None:
        """The next training epoch continues one whose steps already summed to ``total``
        (``BackupAndRestore``): the first step's change is taken from it, so the epoch's
        logs are the results since the resumed batch (the metrics restart there)."""
        self._resumed_total = total

    @property
    def metric_names(self) -> list[str]:
        """The keys the current phase's step returned (those of ``metrics`` before any)."""
        names = self._names[self._phase]
        if names is None:
            names = [m.name for m in self.model.metrics if m.name != "compile_metrics"]
        return [name for name in names if name != "loss"]

    def log_entries(self, count: float, weighted: bool) -> list[tuple[str, Any, Any]]:
        """Each returned key reads its own slot of the summed vector (divided by 1.0)."""
        names = self._names[self._phase] or []
        widths = self._widths[self._phase] or [1] * len(names)
        entries, slot = [], 0
        for name, width in zip(names, widths):
            entries.append((name, slot if width == 1 else (slot, slot + width), 1.0))
            slot += width
        return entries

    @property
    def metrics(self) -> list[Any]:
        """The model's metrics, the compiled ones one by one (``BackupAndRestore`` keeps
        the state variables of those that have them across a mid-epoch resume)."""
        found = []
        for metric in self.model.metrics:
            inner = getattr(metric, "metrics", None)
            found += inner if isinstance(inner, list) else [metric]
        return found

    weighted_metrics: list[Any] = []

    def resume_metrics(self) -> None:
        """Go on with the metrics as they are (an epoch resumed in mid-way): the first
        step's change is taken from the restored sum (see :meth:`resume_epoch`)."""
        self._last = None

    def reset_metrics(self) -> None:
        """Reset the model's metrics and the running difference (Keras's reset points)."""
        self.model.reset_metrics()
        self._last = None

    def train(self, x: Any, y: Any, sample_weight: Any) -> Any:
        """``model.train_step`` on one batch; its results' change as a device vector."""
        self._phase = "train"
        self.model.clear_losses()  # add_loss losses count once per step (Keras: per call)
        logs = self.model.train_step(pack_x_y_sample_weight(x, y, sample_weight))
        if self._last is None and self._resumed_total is not None:
            self._last, self._resumed_total = self._resumed_total, None
        return self._change("train", logs)

    def test(self, x: Any, y: Any, sample_weight: Any) -> Any:
        """``model.test_step`` on one batch; its results' change as a device vector."""
        self._phase = "test"
        self.model.clear_losses()
        logs = self.model.test_step(pack_x_y_sample_weight(x, y, sample_weight))
        return self._change("test", logs)

    def _change(self, phase: str, logs: Any) -> Any:
        flat = _flat_logs(logs, phase)
        names = list(flat)
        known = self._names[phase]
        if known is None:
            self._names[phase] = names
        elif names != known:
            raise ValueError(
                f"{phase}_step must return the same keys at every step (the epoch's logs "
                f"keep one slot per key). First step: {known}. Received: {names}"
            )
        xp = K.array_module()
        parts = [_as_flat(value) for value in flat.values()]
        widths = [int(part.size) for part in parts]  # shapes: no device read
        if known is not None and widths != self._widths[phase]:
            raise ValueError(
                f"{phase}_step must return results of the same sizes at every step (the "
                f"epoch's logs keep one slot per element). First step: {self._widths[phase]}. "
                f"Received: {widths}"
            )
        self._widths[phase] = widths
        vector = xp.concatenate(parts)
        last, self._last = self._last, vector
        return vector if last is None or last.shape != vector.shape else vector - last


def _flat_logs(logs: Any, phase: str) -> dict[str, Any]:
    """``logs`` with nested dicts (the compiled metrics' results) merged in."""
    if not isinstance(logs, dict):
        raise TypeError(
            f"{phase}_step must return a dict of metric results, e.g. "
            "{'loss': loss_tracker.result()}. "
            f"Received: a {type(logs).__name__}"
        )
    flat: dict[str, Any] = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            flat.update(_flat_logs(value, phase))
        else:
            flat[str(key)] = value
    return flat


def _as_flat(value: Any) -> Any:
    """``value`` (an array, traced value, Variable or number) as a flat float64 device array,
    a copy (a metric may update its result array in place)."""
    from gpukeras import autodiff

    raw = getattr(value, "value", value) if not isinstance(value, (int, float)) else value
    raw = autodiff.unwrap(raw)
    xp = K.array_module()
    return xp.array(K.to_device(raw), dtype=xp.float64).reshape(-1)
