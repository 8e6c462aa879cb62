"""ModelCheckpoint: save the model or its weights during ``fit`` (Keras 3 rules)."""

from __future__ import annotations

import os
import re
import string
import warnings
from collections.abc import Mapping
from typing import Any

from gpukeras.callbacks._file_errors import naming_failed_writes
from gpukeras.callbacks._monitor import MonitorCallback
from gpukeras.callbacks._progbar_logger import print_line
from gpukeras.distributed import is_chief

_MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")
# A logs key as str.format can name it: no '.', '[', ']', and not all digits (positional).
_PLAIN_FIELD = re.compile(r"(?!\d+\Z)[^.\[\]{}!:]+")
_WEIGHTS_SUFFIXES = (".weights.h5", ".h5", ".hdf5")


class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save``) or its weights (``model.save_weights``).

    ``filepath`` may hold ``str.format`` fields filled from the epoch's logs
    and ``epoch`` (1-based), e.g. ``weights.{epoch:02d}-{val_loss:.2f}.hdf5``;
    with an integer ``save_freq`` also ``batch`` (1-based within the epoch).

    Differences from Keras 3, on purpose:
    - ``.hdf5`` is accepted besides ``.h5``/``.keras`` (the seed uses it), and
      ``save_weights_only`` accepts ``.weights.h5`` (Keras 3 layout) as well as
      ``.h5``/``.hdf5`` (legacy weights layout).
    - Messages print the initial best as ``inf``/``-inf`` (like Keras 2 and
      early Keras 3), and the files are written atomically.
    - Integer ``save_freq`` works together with ``save_best_only``.
    - ``filepath`` fields must be plain names with an optional format spec;
      attribute and index access (``{epoch.__class__}``) is refused (ValueError).
    - A failed write (a full disk) raises an ``OSError`` naming the callback and the file.

    Args:
        filepath: Where to save; string or path-like, may hold format fields.
        monitor: Logs key judged by ``save_best_only``; default ``'val_loss'``.
        verbose: ``1`` prints a line at every decision; default ``0``.
        save_best_only: Save only when ``monitor`` improves; default ``False``.
        save_weights_only: Save only the weights; default ``False``.
        mode: ``'auto'``, ``'min'`` or ``'max'``; default ``'auto'``.
        save_freq: ``'epoch'`` or a number of batches; default ``'epoch'``.
        initial_value_threshold: Initial best value to beat; default ``None``.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0
        _check_save_freq(save_freq)
        _check_suffix(self.filepath, save_weights_only)
        _check_format_fields(self.filepath)

    # -- hooks ------------------------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    # -- decisions ----------------------------------------------------------------
    def _should_save_on_batch(self, batch: int) -> bool:
        """Count batches (indices restart each epoch) and say when ``save_freq`` is reached."""
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch began: batches 0..batch are new
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch: int, logs: Mapping[str, Any], filepath: str) -> bool:
        """Apply ``save_best_only``; print the verbose message of the decision."""
        if not self.save_best_only:
            if self.verbose > 0:
                print_line(f"Epoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            # Keras 3.15 warns and saves anyway: a misspelt monitor must not lose every epoch.
            warnings.warn(
                f"Can save best model only with {self.monitor} available; saving every epoch.",
                stacklevel=3,
            )
            return True
        current = float(current)
        best_text = f"{self._best_or_infinity():.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_line(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {best_text} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print_line(f"Epoch {epoch + 1}: {self.monitor} did not improve from {best_text}")
        return False

    def _best_or_infinity(self) -> float:
        """``best``, or the infinity every first value beats (for messages)."""
        if self.best is not None:
            return float(self.best)
        return float("inf") if self._minimizing else float("-inf")

    # -- saving -----------------------------------------------------------------
    def _save_model(self, epoch: int, batch: int | None, logs: Mapping[str, Any] | None) -> None:
        if not is_chief():
            return  # data-parallel training: rank 0 alone writes checkpoints
        logs = logs if logs is not None else {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        what = "the weights" if self.save_weights_only else "the model"
        with naming_failed_writes("ModelCheckpoint", f"{what} (epoch {epoch + 1})", filepath):
            # Folders are created only when something is actually saved.
            folder = os.path.dirname(filepath)
            if folder:
                os.makedirs(folder, exist_ok=True)
            if self.save_weights_only:
                self.model.save_weights(filepath, overwrite=True)
            else:
                self.model.save(filepath, overwrite=True)

    def _get_file_path(self, epoch: int, batch: int | None, logs: Mapping[str, Any]) -> str:
        """``filepath`` with its fields filled; a missing key is a KeyError naming both."""
        fields = _FormatFields(logs, epoch=epoch + 1, batch=None if batch is None else batch + 1)
        try:
            return self.filepath.format_map(fields)
        except KeyError as error:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {error}'
            ) from None


class _FormatFields(Mapping):
    """The values ``filepath`` may name, read from the logs only when named.

    Reading a lazy logs value fetches it from the device, so a filepath
    without fields costs no transfer. ``batch`` (1-based) replaces the
    0-based ``batch`` entry of batch logs.
    """

    def __init__(self, logs: Mapping[str, Any], epoch: int, batch: int | None) -> None:
        self._logs = logs
        self._own = {"epoch": epoch} if batch is None else {"epoch": epoch, "batch": batch}

    def __getitem__(self, key: str) -> Any:
        if key in self._own:
            return self._own[key]
        return self._logs[key]

    def __iter__(self):
        return iter({**dict.fromkeys(self._logs), **self._own})

    def __len__(self) -> int:
        return len(set(self._logs) | set(self._own))


def _check_save_freq(save_freq: Any) -> None:
    if save_freq == "epoch":
        return
    if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1:
        raise ValueError(
            "Unrecognized save_freq. Expected 'epoch' or a positive integer (a number of "
            f"batches). Received: save_freq={save_freq!r}"
        )


def _check_format_fields(filepath: str, template: str | None = None) -> None:
    """Allow only plain named fields (``{epoch:02d}``, ``{val_loss:.2f}``).

    ``str.format`` would also follow attributes and indexes (``{epoch.__class__}``,
    ``{logs[0]}``): from a filepath that may come from a config, that reads
    objects' internals into file names (addresses, folders). Nested fields in a
    format spec are checked the same way.
    """
    template = filepath if template is None else template
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(
            f"ModelCheckpoint filepath is not a valid format string ({error}). Write a literal "
            f"brace as '{{{{' or '}}}}'. Received: filepath={filepath}"
        ) from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if not _PLAIN_FIELD.fullmatch(name) or conversion is not None:
            shown = name + (f"!{conversion}" if conversion else "")
            raise ValueError(
                "ModelCheckpoint filepath fields must be plain names ('epoch', 'batch' or a "
                "logs key) with an optional format spec, like '{epoch:02d}': no attribute "
                "access, indexing, conversion or positional fields. Received: field "
                f"'{{{shown}}}' in filepath={filepath}"
            )
        if spec:
            _check_format_fields(filepath, spec)


def _check_suffix(filepath: str, save_weights_only: bool) -> None:
    """Refuse file names whose format the saver cannot tell from the suffix."""
    suffixes = _WEIGHTS_SUFFIXES if save_weights_only else _MODEL_SUFFIXES
    if filepath.endswith(suffixes):
        return
    what = "weights (save_weights_only=True)" if save_weights_only else "a model"
    raise ValueError(
        f"ModelCheckpoint cannot save {what} to this file name. The filepath must end in "
        f"{', '.join(repr(s) for s in suffixes)}. Received: filepath={filepath}"
    )
