"""Progress output for fit/evaluate/predict: ``Progbar`` and the ``ProgbarLogger`` callback.

Keras 3's look: ``  37/469 ━━━━━━━━━━━━━━━━━━━━ 3s 8ms/step - loss: 0.6717``.
Unlike Keras, the bar is redrawn in place only on a terminal (with colours)
or in a Jupyter notebook (carriage-return redraws, no ANSI colour codes, which notebook
front ends and their saved outputs do not all render). Into a file or pipe it
writes plain lines without control characters, one per epoch, and a logger
never reads batch logs there, so a file-logged ``fit`` costs no device sync per
batch.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy

from gpukeras import _interactive_logging as interactive_logging
from gpukeras.callbacks._callback import Callback

_BAR_CHAR = "━"
_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
# Keys fit puts in batch logs that are bookkeeping, not metrics.
_NOT_METRICS = ("batch", "size")

# The stream on which a bar line is drawn but not yet ended (None if none).
_open_line_stream: Any = None


def _write(text: str) -> None:
    """Write to the current ``sys.stdout`` (so capture works) and flush; or, after
    ``utils.disable_interactive_logging()``, to the ``gpukeras`` logger."""
    if not interactive_logging.is_interactive_logging_enabled():
        interactive_logging.log_message(text)
        return
    out = sys.stdout
    try:
        out.write(text)
    except UnicodeEncodeError:
        encoding = getattr(out, "encoding", None) or "utf-8"
        out.write(text.replace(_BAR_CHAR, "=").encode(encoding, "replace").decode(encoding))
    out.flush()


def print_line(message: str) -> None:
    """Print ``message`` on a line of its own, ending a bar line left open on stdout.

    Callbacks (ModelCheckpoint, EarlyStopping, ...) print through this so
    their messages never run into a progress bar and never add blank lines.
    """
    global _open_line_stream
    prefix = "\n" if _open_line_stream is sys.stdout else ""
    _open_line_stream = None
    _write(f"{prefix}{message}\n")


def _in_notebook() -> bool:
    """Whether stdout is a Jupyter kernel's output stream (not a file it was redirected to)."""
    if "ipykernel" not in sys.modules:
        return False
    return type(sys.stdout).__module__.split(".")[0] == "ipykernel"


def _display_mode() -> str:
    """``'terminal'`` (redraw, colours), ``'notebook'`` (redraw, no colours) or ``'plain'``
    (also whenever output goes to the logger: a log record is never redrawn)."""
    if not interactive_logging.is_interactive_logging_enabled():
        return "plain"
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        if isatty is not None and isatty():
            return "terminal"
    except ValueError:  # closed stream
        return "plain"
    return "notebook" if _in_notebook() else "plain"


def _dynamic_display() -> bool:
    """Whether stdout redraws lines in place: a terminal or a Jupyter notebook."""
    return _display_mode() != "plain"


def format_value(value: Any) -> str:
    """A metric value as Keras prints it: ``.4f`` if ``|v| > 1e-3`` else ``.4e``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.4f}" if abs(number) > 1e-3 else f"{number:.4e}"


def _format_eta(seconds: float) -> str:
    whole = int(seconds)
    if seconds > 3600:
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    if seconds > 60:
        return f"{whole // 60}:{whole % 60:02d}"
    return f"{whole}s"


def _format_time_per_unit(seconds: float, unit_name: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


class Progbar:
    """A progress bar (Keras's ``keras.utils.Progbar``).

    Args:
        target: Total number of steps, or ``None`` if unknown.
        width: Bar width in characters; default ``20``.
        verbose: ``0`` silent, ``1`` bar, ``2`` one line when finished; default ``1``.
        interval: Minimum seconds between redraws; default ``0.05``.
        stateful_metrics: Names shown as given; all others are averaged over
            the steps seen; default ``None``.
        unit_name: Name of a step in ``ms/step``; default ``'step'``.
        stateless_metrics: The opposite list (only these are averaged); pass at
            most one of the two; default ``None``.
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Iterable[str] | None = None,
        unit_name: str = "step",
        stateless_metrics: Iterable[str] | None = None,
    ) -> None:
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Pass only one of stateful_metrics and stateless_metrics. "
                f"Received: stateful_metrics={stateful_metrics!r}, "
                f"stateless_metrics={stateless_metrics!r}"
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._stateful = None if stateless_metrics is not None else set(stateful_metrics or ())
        self._stateless = set(stateless_metrics) if stateless_metrics is not None else None
        mode = _display_mode()
        self.dynamic = mode != "plain"
        self.colour = mode == "terminal"
        self._values: dict[str, list[float]] = {}  # name -> [weighted sum, weight]
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._step_time = 0.0
        self._prev_width = 0

    # -- bookkeeping without output -------------------------------------
    def tick(self, current: int) -> None:
        """Record that ``current`` steps are done (for timing), drawing nothing."""
        now = time.time()
        if current:
            if self._time_after_first_step is not None and current > 1:
                self._step_time = (now - self._time_after_first_step) / (current - 1)
            else:
                self._step_time = (now - self._start) / current
            if current == 1:
                self._time_after_first_step = now
        self._seen_so_far = current

    def is_due(self) -> bool:
        """Whether a non-final :meth:`update` would redraw the bar now."""
        if self.verbose != 1 or not self.dynamic:
            return False
        return time.time() - self._last_update >= self.interval

    # -- public API -------------------------------------------------------
    def update(
        self,
        current: int,
        values: Iterable[tuple[str, Any]] | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Advance to step ``current`` and maybe redraw.

        Args:
            current: Steps done so far.
            values: ``(name, value)`` pairs for this step; default ``None``.
            finalize: Whether this is the last update; default ``None``
                (``current >= target``).
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record(current, values or [], finalize)
        self.tick(current)
        if self.verbose == 1:
            if finalize:
                self._draw(current, finalize=True)
            elif self.is_due():
                self._draw(current, finalize=False)
        elif self.verbose == 2 and finalize:
            self._write_summary(current)

    def add(self, n: int, values: Iterable[tuple[str, Any]] | None = None) -> None:
        """:meth:`update` to ``n`` steps further."""
        self.update(self._seen_so_far + n, values)

    # -- internals --------------------------------------------------------
    def _record(self, current: int, values: Iterable[tuple[str, Any]], finalize: bool) -> None:
        for name, value in values:
            # a vector value (F1Score per class) shows its mean, as Keras's progress bar does
            value = float(numpy.mean(value)) if numpy.ndim(value) else float(value)
            if self._stateful is not None:
                averaged = name not in self._stateful
            else:
                averaged = name in self._stateless
            if not averaged or finalize:
                self._values[name] = [value, 1.0]
                continue
            weight = float(max(current - self._seen_so_far, 1))
            total = self._values.setdefault(name, [0.0, 0.0])
            total[0] += value * weight
            total[1] += weight

    def _metrics_text(self) -> str:
        return "".join(
            f" - {name}: {format_value(total / max(1.0, count))}"
            for name, (total, count) in self._values.items()
        )

    def _counter(self, current: int) -> str:
        digits = int(math.log10(self.target)) + 1
        return f"{current:{digits}d}/{self.target}"

    def _draw(self, current: int, finalize: bool) -> None:
        """One bar line: redrawn in place on a terminal, a plain final line elsewhere."""
        global _open_line_stream
        if not self.dynamic and not finalize:
            return
        colour = self.colour
        bold, reset = (_BOLD, _RESET) if colour else ("", "")
        known = self.target is not None and self.target > 0
        if known:
            filled = int(self.width * current / self.target)
            done = _BAR_CHAR * filled
            left = _BAR_CHAR * (self.width - filled)
            if colour:
                done = f"{_GREEN}{done}{_RESET}" if filled else ""
                left = f"{_GREY}{left}{_RESET}"
            bar = f"{bold}{self._counter(current)}{reset} {done}{left}"
            plain_bar = f"{self._counter(current)} {_BAR_CHAR * self.width}"
        else:
            bar = plain_bar = f"{current:7d}/Unknown"
        now = time.time()
        if known and not finalize:
            when = _format_eta(self._step_time * (self.target - current))
        else:
            when = f"{now - self._start:.0f}s"
        info = f" {bold}{when}{reset} {_format_time_per_unit(self._step_time, self.unit_name)}"
        info += self._metrics_text()
        plain_width = len(plain_bar) + len(info) - len(bold) - len(reset)
        line = bar + info
        if self.dynamic:
            # Pad over a longer previous line, then return to the line start.
            line = "\r" + line + " " * max(self._prev_width - plain_width, 0)
            self._prev_width = plain_width
        if finalize:
            line += "\n"
        _write(line)
        _open_line_stream = None if finalize else sys.stdout
        self._last_update = now

    def _write_summary(self, current: int) -> None:
        """verbose=2: ``469/469 - 4s - 8ms/step - loss: ...``."""
        if self.target is None or self.target <= 0:
            return
        elapsed = time.time() - self._start
        line = f"{self._counter(current)} - {elapsed:.0f}s - "
        line += _format_time_per_unit(self._step_time, self.unit_name)
        print_line(line + self._metrics_text())


class ProgbarLogger(Callback):
    """Prints progress of ``fit``, ``evaluate`` and ``predict`` to stdout (Keras 3).

    Uses ``params['verbose']`` (``1`` bar, ``2`` one line per epoch),
    ``params['epochs']`` and ``params['steps']``. Inside ``fit`` the validation
    pass is silent. An ``Epoch e/E`` header is printed when ``epochs > 1``.
    Batch logs are read only when the bar is actually redrawn (on a terminal,
    at most every 0.05 s), never when stdout is a file or a pipe.
    """

    def __init__(self) -> None:
        super().__init__()
        self.progbar: Progbar | None = None
        self.seen = 0
        self._called_in_fit = False

    @property
    def verbose(self) -> int:
        verbose = self.params.get("verbose", 1)
        return 1 if verbose == "auto" else int(verbose)

    @property
    def epochs(self) -> int:
        return int(self.params.get("epochs") or 1)

    @property
    def target(self) -> int | None:
        return self.params.get("steps")

    # -- fit ------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = False

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start_progbar()
        if self.verbose and self.epochs > 1:
            print_line(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._advance(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._finish(logs)

    # -- evaluate (silent inside fit) -------------------------------------------
    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._start_progbar()

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._advance(batch, logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finish(logs)

    # -- predict --------------------------------------------------------------
    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._start_progbar()

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._advance(batch, None)  # predictions are not metrics

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finish(logs)

    # -- internals --------------------------------------------------------------
    def _start_progbar(self) -> None:
        self.seen = 0
        self.progbar = Progbar(
            target=self.target, verbose=self.verbose, unit_name="step", stateless_metrics=()
        )

    def _advance(self, batch: int, logs: dict[str, Any] | None) -> None:
        if self.progbar is None:
            self._start_progbar()
        self.seen = batch + 1
        if logs is not None and self.progbar.is_due():
            # Reading logs is what fetches device values: only when drawing.
            self.progbar.update(self.seen, _metric_items(logs), finalize=False)
        elif self.progbar.is_due():
            self.progbar.update(self.seen, None, finalize=False)
        else:
            self.progbar.tick(self.seen)

    def _finish(self, logs: dict[str, Any] | None) -> None:
        if self.progbar is None:
            self._start_progbar()
        if self.progbar.target is None:
            self.progbar.target = self.seen
        self.progbar.update(self.progbar.target, _metric_items(logs or {}), finalize=True)
        self.progbar = None


def _metric_items(logs: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in logs.items() if k not in _NOT_METRICS]
