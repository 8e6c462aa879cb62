"""TensorBoard: scalar (and weight histogram) event files that TensorBoard reads.

The files are written by gpukeras itself (see ``_event_file_writer``): no
TensorFlow, tensorboard or tensorboardX is needed to write them; only to view
them (``pip install tensorboard; tensorboard --logdir logs``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from typing import Any

import numpy

from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._checks import check_non_negative_int
from gpukeras.callbacks._event_file_writer import (
    EventFileWriter,
    histogram_value,
    text_tensor_value,
)
from gpukeras.callbacks._learning_rates import learning_rate_logs
from gpukeras.distributed import is_chief

# Keys of gpukeras's batch logs that are bookkeeping, not metrics (Keras 3 has no such keys).
_NOT_METRICS = ("batch", "size")


def _check_update_freq(update_freq: Any) -> Any:
    if update_freq == "batch":
        return 1
    if update_freq == "epoch":
        return "epoch"
    if isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1:
        raise ValueError(
            "`update_freq` must be 'epoch', 'batch' or a positive integer (batches). "
            f"Received: update_freq={update_freq!r}"
        )
    return update_freq


def _check_profile_batch(profile_batch: Any) -> None:
    """Profiling is not available: accept only "off" (0, '0', (0, 0)) as Keras's NumPy backend."""
    off = profile_batch in (0, "0", "0,0", (0, 0), [0, 0]) and not isinstance(profile_batch, bool)
    if not off:
        raise ValueError(
            "Profiling is not available in gpukeras. "
            f"Received: profile_batch={profile_batch!r} (must be 0)"
        )


class TensorBoard(Callback):
    """Write TensorBoard event files: metrics per epoch (and per batch), learning rate.

    Layout and names are Keras 3's: ``log_dir/train`` holds ``epoch_<name>``
    for the training logs plus ``epoch_learning_rate`` at ``step=epoch``;
    ``log_dir/validation`` holds the ``val_`` entries with the prefix removed
    (``val_loss`` -> ``epoch_loss``). With an integer ``update_freq`` the
    training batch logs are written as ``batch_<name>`` every ``update_freq``
    batches, at ``step`` = the number of batches run since ``fit`` began.

    Host transfers: the epoch logs are read once per epoch (one transfer,
    shared with the other callbacks). Batch logs are read only on the batches
    written (one transfer each); on the other batches nothing is read.
    ``histogram_freq > 0`` copies every weight to the host every
    ``histogram_freq`` epochs.

    Not implemented (Keras features that need TensorFlow): ``write_images``
    and ``embeddings_freq`` warn and are ignored; a non-zero ``profile_batch``
    raises ValueError, as it does on Keras's NumPy backend. ``write_graph``
    writes the model's config (TensorBoard's "graph_keras_model" summary,
    as Keras does), not an op graph. Keras's ``evaluation_<name>_vs_iterations``
    scalars are not written (they would cost a second transfer per validation).

    Args:
        log_dir: Folder of the event files; default ``'logs'``.
        histogram_freq: Write weight histograms every this many epochs; ``0``
            turns them off; default ``0``.
        write_graph: Write the model config for TensorBoard's graph view; default ``True``.
        write_images: Not supported (warns); default ``False``.
        write_steps_per_second: Also write ``steps_per_second`` (per epoch, and
            per written batch with an integer ``update_freq``); default ``False``.
        update_freq: ``'epoch'``, ``'batch'`` (= ``1``) or an integer number of
            batches; default ``'epoch'``.
        profile_batch: Must be ``0`` (profiling is not available); default ``0``.
        embeddings_freq: Not supported (warns when > 0); default ``0``.
        embeddings_metadata: Ignored; default ``None``.
    """

    def __init__(
        self,
        log_dir: Any = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: Any = "epoch",
        profile_batch: Any = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: Any = None,
    ) -> None:
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = check_non_negative_int(histogram_freq, "histogram_freq")
        self.write_graph = bool(write_graph)
        self.write_images = bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = _check_update_freq(update_freq)
        _check_profile_batch(profile_batch)
        self.embeddings_freq = check_non_negative_int(embeddings_freq, "embeddings_freq")
        self.embeddings_metadata = embeddings_metadata
        if self.write_images:
            warnings.warn(
                "TensorBoard(write_images=True) is not supported by gpukeras; "
                "weights are not written as images.",
                stacklevel=2,
            )
        if self.embeddings_freq:
            warnings.warn(
                "TensorBoard(embeddings_freq>0) is not supported by gpukeras (it has no "
                "Embedding layer); no embeddings are written.",
                stacklevel=2,
            )
        self._writers: dict[str, EventFileWriter] = {}
        self._global_train_batch = 0
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0

    @property
    def _train_dir(self) -> str:
        return os.path.join(self.log_dir, "train")

    @property
    def _val_dir(self) -> str:
        return os.path.join(self.log_dir, "validation")

    def _writer(self, which: str) -> EventFileWriter:
        """The ``'train'`` or ``'validation'`` writer, opened on first use."""
        writer = self._writers.get(which)
        if writer is None or writer.closed:
            folder = self._train_dir if which == "train" else self._val_dir
            writer = self._writers[which] = EventFileWriter(folder)
        return writer

    def _release(self) -> None:  # see CallbackList.release
        self._close_writers(quietly=True)

    def _close_writers(self, quietly: bool = False) -> None:
        """Close every writer. ``quietly`` when fit already failed (perhaps on a full disk,
        where closing fails again): a second error would hide the first."""
        writers, self._writers = list(self._writers.values()), {}
        for writer in writers:
            with contextlib.suppress(OSError) if quietly else contextlib.nullcontext():
                writer.close()

    def _optimizer_iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)

    # -- hooks ----------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Each fit writes new event files, as Keras does after set_model.
        self._close_writers()
        self._global_train_batch = 0
        if self.write_graph and is_chief():  # data-parallel training: rank 0 alone writes
            self._write_model_config()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._close_writers()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_start_time = time.time()
        self._epoch_start_iterations = self._optimizer_iterations()

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not is_chief():
            return
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return  # not a batch we write: leave the logs unread (no transfer)
        scalars: dict[str, float] = {}
        if self.write_steps_per_second:
            elapsed = time.time() - self._batch_start_time
            scalars["batch_steps_per_second"] = 1.0 / elapsed if elapsed > 0 else 0.0
        for name, value in (logs or {}).items():
            if name not in _NOT_METRICS:
                scalars.update(_scalars(f"batch_{name}", value))
        self._writer("train").add_scalars(self._global_train_batch, scalars)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not is_chief():
            return
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    # -- writing ----------------------------------------------------------------
    def _log_epoch_metrics(self, epoch: int, logs: dict[str, Any]) -> None:
        if not logs:
            return
        items = list(logs.items())  # one transfer for the whole dict
        train: dict[str, float] = {}
        val: dict[str, float] = {}
        for key, value in items:
            if key.startswith("val_"):
                val.update(_scalars(f"epoch_{key[4:]}", value))
            else:
                train.update(_scalars(f"epoch_{key}", value))
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and (
            hasattr(optimizer, "learning_rate") or hasattr(optimizer, "optimizers")
        ):
            # A MultiOptimizer logs each sub-optimizer's rate (``epoch_learning_rate_<name>``).
            train.update({f"epoch_{k}": v for k, v in learning_rate_logs(optimizer).items()})
        if self.write_steps_per_second:
            elapsed = time.time() - self._epoch_start_time
            steps = self._optimizer_iterations() - self._epoch_start_iterations
            train["epoch_steps_per_second"] = steps / elapsed if elapsed > 0 else 0.0
        if train:
            self._writer("train").add_scalars(epoch, train)
        if val:
            self._writer("validation").add_scalars(epoch, val)

    def _log_weights(self, epoch: int) -> None:
        """A histogram of every weight, tagged ``<path>/histogram`` as Keras does."""
        values = []
        for layer in getattr(self.model, "layers", []):
            for weight in layer.weights:
                tag = f"{weight.path.replace(':', '_')}/histogram"
                values.append(histogram_value(tag, weight.numpy()))
        self._writer("train").add_values(epoch, values)

    def _write_model_config(self) -> None:
        """The model's config as a "graph_keras_model" summary (TensorBoard's Keras graph view)."""
        get_config = getattr(self.model, "get_config", None)
        if get_config is None:
            return
        try:
            text = json.dumps({"class_name": type(self.model).__name__, "config": get_config()})
        except Exception as error:  # as Keras: a model that fails to serialise is not fatal
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {error}", stacklevel=2)
            return
        value = text_tensor_value("keras", text, "graph_keras_model", b"1")
        self._writer("train").add_values(0, [value])


def _scalars(tag: str, value: Any) -> dict[str, float]:
    """``{tag: value}``; a vector value (F1Score per class) as one scalar per element,
    ``tag/0``, ``tag/1``, ... (a scalar summary cannot hold a vector)."""
    flat = numpy.asarray(value, dtype=numpy.float64).reshape(-1)
    if flat.size == 1:
        return {tag: float(flat[0])}
    return {f"{tag}/{i}": float(v) for i, v in enumerate(flat.tolist())}
