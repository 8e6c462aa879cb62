"""BackupAndRestore: back up the training state; a restarted ``fit`` continues from it exactly."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import random
import warnings
import zipfile
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.callbacks._callback import Callback
from gpukeras.callbacks._file_errors import naming_failed_writes
from gpukeras.distributed import is_chief

_LATEST = "latest.backup.npz"
_PREVIOUS = _LATEST + ".bkp"
_FORMAT = 1
_META_KEYS = ("epoch", "batches_done", "seen", "weights", "optimizer", "random")
# What reading a damaged or foreign file can raise (zip, npy and JSON layers).
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


class BackupAndRestore(Callback):
    """Back up the training state during ``fit``; a restarted ``fit`` resumes from the backup.

    Each backup is one file, ``backup_dir/latest.backup.npz``, written
    atomically (temporary file, fsync, ``os.replace``): a kill at any moment
    leaves the previous or the new backup, never a partial one. It holds the
    model's weights, the optimizer's state, the epoch and the batches done in
    it, that epoch's shuffle order and running loss/metric sums, and every
    random state the run draws from: gpukeras's host and device streams,
    generators held by layers (a seeded ``Dropout``), NumPy's global
    generator and Python's ``random``. When ``fit`` starts with a backup
    present, ``on_train_begin`` restores all of it and ``fit`` continues at
    the saved epoch and batch, so on the NumPy backend a run killed at any
    moment and restarted with the same script ends with bit-identical
    weights, and the resumed epoch's logs equal the uninterrupted run's. The
    returned History holds the epochs run by this ``fit`` call, as in Keras.

    Differences from Keras 3, on purpose:
    - Keras saves weights and ``{epoch, batch}`` and restarts at the start of
      the epoch with fresh random state, so a resumed run differs; here the
      optimizer, batch position and random state are restored too.
    - CuPy's device stream (cuRAND) cannot be read back. On CuPy the weights,
      optimizer, epoch, batch and shuffle order are restored exactly, but the
      device stream (dropout masks, later shuffles) and layers' own
      generators restart from a seed derived from ``(seed, epoch, batch)``:
      the resumed run is reproducible, not bit-identical to an uninterrupted one.
    - ``delete_checkpoint`` removes this callback's files and then the folder
      only if it is empty (Keras deletes the whole folder).
    - ``save_freq=False`` (Keras's preemption-only mode) is not supported.

    Put it last in ``callbacks`` so an epoch-end backup sees what other
    callbacks changed (a new learning rate). Other callbacks' own state
    (EarlyStopping's patience count) is not backed up, as in Keras. The
    model and ``fit`` arguments of the restarted run must be the same.

    Args:
        backup_dir: Folder for the backup; created when the first backup is
            written. Use it for nothing else. Required.
        save_freq: ``'epoch'`` backs up at the end of each epoch; an integer
            ``n`` every ``n`` training batches (counted across epochs);
            default ``'epoch'``.
        double_checkpoint: Keep the previous backup too (``...npz.bkp``) and
            fall back to it, with a warning, when the newest cannot be read;
            default ``False``.
        delete_checkpoint: Delete the backup when ``fit`` ends without an
            exception (also after early stopping); default ``True``.
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError(
                "Empty `backup_dir` argument passed: it must be a folder path. "
                f"Received: backup_dir={backup_dir!r}"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = _checked_save_freq(save_freq)
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._latest = os.path.join(self.backup_dir, _LATEST)
        self._previous = os.path.join(self.backup_dir, _PREVIOUS)
        self._batches_since_save = 0
        self._order_cache: tuple[Any, numpy.ndarray] | None = None

    # -- hooks ------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # A backup is written right after a save resets the count, so 0 is exact on resume too.
        self._batches_since_save = 0
        self._order_cache = None
        self._remove_stale_temporaries()
        backup = self._read_backup()
        if backup is not None:
            _restore(self.model, backup)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self.model._epoch_progress)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            from gpukeras.models._progress import EpochProgress

            # With steps_per_epoch, the next epoch may go on with this one's pass.
            following = getattr(self.model, "_next_epoch_progress", None)
            self._save(following or EpochProgress(epoch + 1))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._order_cache = None
        if self.delete_checkpoint:
            self._delete()

    # -- writing ------------------------------------------------------------------
    def _save(self, progress: Any) -> None:
        if not is_chief():
            return  # data-parallel training: rank 0 writes, every rank reads
        from gpukeras.saving import atomic_write_path  # imported late: saving imports h5py

        arrays = _state_arrays(self.model, progress, self._host_order(progress.order))
        with naming_failed_writes("BackupAndRestore", "its backup", self._latest):
            os.makedirs(self.backup_dir, exist_ok=True)
            if self.double_checkpoint and os.path.exists(self._latest):
                # A kill before the new file lands leaves only this one, which loading uses.
                os.replace(self._latest, self._previous)
            with atomic_write_path(self._latest) as temporary, open(temporary, "wb") as file:
                numpy.savez(file, **arrays)

    def _host_order(self, order: Any) -> numpy.ndarray | None:
        """The epoch's order on the host, fetched once per epoch however often we save."""
        if order is None:
            return None
        if self._order_cache is None or self._order_cache[0] is not order:
            self._order_cache = (order, numpy.array(K.to_host(order)))
        return self._order_cache[1]

    def _delete(self) -> None:
        if not is_chief():
            return
        for path in (self._latest, self._previous, *self._temporaries()):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        with contextlib.suppress(OSError):
            os.rmdir(self.backup_dir)  # only when empty: the folder may hold the user's files

    def _temporaries(self) -> list[str]:
        """Temporary files of backups whose writer was killed (atomic_write_path's names)."""
        return glob.glob(os.path.join(glob.escape(self.backup_dir), f".{_LATEST}.*.tmp"))

    def _remove_stale_temporaries(self) -> None:
        if not is_chief():
            return
        for path in self._temporaries():
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    # -- reading ------------------------------------------------------------------
    def _read_backup(self) -> dict[str, Any] | None:
        """The newest readable backup, ``None`` without one; OSError when none is readable."""
        candidates = [self._latest] + ([self._previous] if self.double_checkpoint else [])
        failures = []
        for path in candidates:
            if not os.path.exists(path):
                continue
            try:
                backup = _read_file(path)
            except _UNREADABLE as exc:
                failures.append(f"{path} ({type(exc).__name__}: {exc})")
                continue
            if failures:
                warnings.warn(
                    f"BackupAndRestore: the newest backup is unreadable: {failures[0]}. "
                    f"Resuming from the previous one: {path}",
                    stacklevel=3,
                )
                # Drop the damaged file so the next backup does not rotate it into .bkp.
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self._latest)
            return backup
        if failures:
            hint = "" if self.double_checkpoint else " (double_checkpoint=True keeps a spare)"
            raise OSError(
                f"BackupAndRestore cannot read its backup: {'; '.join(failures)}. Delete "
                f"{self.backup_dir!r} to start training from scratch{hint}."
            )
        return None


def _checked_save_freq(save_freq: Any) -> str | int:
    if isinstance(save_freq, str) and save_freq == "epoch":
        return save_freq
    if isinstance(save_freq, (int, numpy.integer)) and not isinstance(save_freq, bool):
        if save_freq >= 1:
            return int(save_freq)
    raise ValueError(
        "Invalid value for argument `save_freq`: expected 'epoch' or a positive integer "
        f"(a number of batches). Received: save_freq={save_freq!r}"
    )


# -- what a backup holds ----------------------------------------------------------
def _state_arrays(model: Any, progress: Any, order: numpy.ndarray | None) -> dict[str, Any]:
    """Everything to resume from ``progress``, as named arrays for one ``.npz`` file."""
    weights = model.get_weights()
    optimizer = [v.value for v in model.optimizer.variables] if model.optimizer.built else []
    meta = {
        "format": _FORMAT,
        "backend": K.backend(),
        "epoch": int(progress.epoch),
        "batches_done": int(progress.batches_done),
        "first_batch": int(getattr(progress, "first_batch", 0)),
        "seen": int(progress.seen),
        "weights": len(weights),
        "optimizer": len(optimizer),
        "random": _random_state(model),
    }
    arrays: dict[str, Any] = {"meta": numpy.frombuffer(json.dumps(meta).encode(), numpy.uint8)}
    arrays.update({f"weight_{i}": value for i, value in enumerate(weights)})
    arrays.update({f"optimizer_{i}": K.to_host(v) for i, v in enumerate(optimizer)})
    if order is not None:
        arrays["order"] = order
    if progress.total is not None:
        arrays["total"] = K.to_host(progress.total)
        from gpukeras.models import _stateful_metrics

        arrays.update(_stateful_metrics.state_arrays(model))  # mid-epoch: their state too
    return arrays


def _read_file(path: str) -> dict[str, Any]:
    with numpy.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    # Void (|V0: zero bytes for any number of items), strings and the like are not ours.
    odd = [key for key, array in arrays.items() if array.dtype.kind not in "biuf"]
    if odd:
        raise ValueError(f"arrays {odd} are not numbers (dtype {arrays[odd[0]].dtype.str})")
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"not a gpukeras backup of format {_FORMAT}")
    missing = [key for key in _META_KEYS if key not in meta]
    if missing:
        raise ValueError(f"the backup's metadata lacks {missing}")
    _check_random_state(meta["random"])
    return {"meta": meta, "arrays": arrays, "path": path}


def _check_random_state(saved: Any) -> None:
    """Refuse a random state that would not restore, before anything is restored.

    Each part is tried on a throwaway generator of the kind this process uses,
    so a backup with another kind of state (say PCG64 where MT19937 belongs) is
    reported as an unreadable backup naming its file, not half restored.
    """
    try:
        numpy_state = dict(saved["numpy"])
        numpy_state["state"] = dict(numpy_state["state"])
        numpy_state["state"]["key"] = numpy.asarray(numpy_state["state"]["key"], numpy.uint32)
        numpy.random.RandomState().set_state(numpy_state)
        version, internal, gauss = saved["python"]
        random.Random().setstate((version, tuple(internal), gauss))
        streams = saved["gpukeras"]
        host = K.random.host_generator().bit_generator
        type(host)().state = streams["host"]
        generator_states = [streams["device"], *dict(saved["layers"]).values()]
        for state in generator_states:
            if state is not None:
                numpy.random.default_rng().bit_generator.state = state  # device kind
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
        raise ValueError(
            f"its random state is of the wrong kind or damaged ({type(error).__name__}: {error})"
        ) from None


def _restore(model: Any, backup: dict[str, Any]) -> None:
    """Put the backup's weights, optimizer and random state back; tell ``fit`` where to go on."""
    from gpukeras.models import _stateful_metrics
    from gpukeras.models._progress import EpochProgress

    meta, arrays = backup["meta"], backup["arrays"]
    _check_matches(model, meta, backup["path"])
    model.set_weights([arrays[f"weight_{i}"] for i in range(meta["weights"])])
    if meta["optimizer"]:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_weights)
        model.optimizer.set_weights([arrays[f"optimizer_{i}"] for i in range(meta["optimizer"])])
    _restore_random_state(model, meta)
    _stateful_metrics.restore_state(model, arrays)
    model._resume_from = EpochProgress(
        epoch=meta["epoch"],
        order=K.to_device(arrays["order"]) if "order" in arrays else None,
        batches_done=meta["batches_done"],
        total=K.to_device(arrays["total"]) if "total" in arrays else None,
        seen=meta["seen"],
        first_batch=int(meta.get("first_batch", 0)),
    )


def _check_matches(model: Any, meta: dict[str, Any], path: str) -> None:
    own = len(model.weights)
    if meta["weights"] != own:
        raise ValueError(
            f"The backup at {path!r} was made for a model with {meta['weights']} weight "
            f"arrays; this model has {own}. Received: a model that differs from the backed-up "
            "one (delete the backup folder to start from scratch)"
        )


# -- random state -------------------------------------------------------------------
def _layer_generators(model: Any) -> list[tuple[str, Any, str, Any]]:
    """``(key, owner, attribute, generator)`` for every generator the model's layers hold,
    also inside wrapped layers (``Bidirectional``'s RNNs)."""
    from gpukeras.layers import Layer

    found: list[tuple[str, Any, str, Any]] = []
    visited: set[int] = set()

    def walk(layer: Any, key: str) -> None:
        if id(layer) in visited:
            return
        visited.add(id(layer))
        for attribute, value in sorted(vars(layer).items()):
            if K.random.is_generator(value):
                found.append((f"{key}/{attribute}", layer, attribute, value))
            elif isinstance(value, Layer):
                walk(value, f"{key}/{attribute}")
            elif isinstance(value, (list, tuple)):
                for index, item in enumerate(value):
                    if isinstance(item, Layer):
                        walk(item, f"{key}/{attribute}/{index}")

    for index, layer in enumerate(model.layers):
        walk(layer, str(index))
    return found


def _random_state(model: Any) -> dict[str, Any]:
    numpy_state = numpy.random.get_state(legacy=False)
    numpy_state["state"]["key"] = numpy_state["state"]["key"].tolist()
    return {
        "gpukeras": K.random.get_state(),
        "layers": {key: K.random.generator_state(g) for key, _, _, g in _layer_generators(model)},
        "numpy": numpy_state,
        "python": random.getstate(),
    }


def _restore_random_state(model: Any, meta: dict[str, Any]) -> None:
    saved = meta["random"]
    numpy_state = saved["numpy"]
    numpy_state["state"]["key"] = numpy.asarray(numpy_state["state"]["key"], dtype=numpy.uint32)
    numpy.random.set_state(numpy_state)
    version, internal, gauss = saved["python"]
    random.setstate((version, tuple(internal), gauss))
    streams = dict(saved["gpukeras"])
    exact = streams["device"] is not None and K.backend() == "numpy"
    if not exact:
        streams["device"] = None
    K.random.set_state(streams)
    # CuPy cannot restore device generators: restart them from seeds fixed by the position.
    position = [streams["seed"] or 0, meta["epoch"], meta["batches_done"]]
    seeds = numpy.random.SeedSequence(position).generate_state(1 + len(saved["layers"]))
    if not exact:
        K.random.reseed_device(int(seeds[0]))
    for number, (key, layer, attribute, generator) in enumerate(_layer_generators(model), 1):
        state = saved["layers"].get(key)
        if exact and state is not None:
            K.random.set_generator_state(generator, state)
        else:
            setattr(layer, attribute, K.random.device_generator(int(seeds[number])))
