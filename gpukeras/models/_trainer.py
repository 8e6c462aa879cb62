"""compile, fit, evaluate and predict: the training loop and its callbacks.

Data goes to the device once per call; each epoch shuffles it there. Step
statistics add up on the device, and the ``logs`` handed to callbacks read
them lazily (see ``gpukeras.callbacks.Logs``): an epoch in which no callback
reads batch logs makes one host transfer for its training and validation logs.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras import losses as losses_module
from gpukeras import metrics as metrics_module
from gpukeras import optimizers
from gpukeras._legacy import legacy_arguments
from gpukeras.callbacks import CallbackList, Logs
from gpukeras.callbacks._progbar_logger import _dynamic_display
from gpukeras.debugging import is_check_numerics_enabled
from gpukeras.debugging._check_numerics import check_batch
from gpukeras.distributed import DataSharding, fit_sharding
from gpukeras.distributed._agreement import fit_agreement
from gpukeras.distributed._early_exit import leaving_aborts_the_job
from gpukeras.metrics._get import savable_ids as savable_metric_ids
from gpukeras.mixed_precision._loss_scale_optimizer import auto_scale
from gpukeras.models import _batches, _data
from gpukeras.models._batches import BatchStream
from gpukeras.models._data import Dataset
from gpukeras.models._progress import EpochProgress
from gpukeras.models._stateful_metrics import build_states
from gpukeras.models._step import Step, forward_pass, layer_stack
from gpukeras.models._tape_step import make_step

_COMPILE_EXTRAS = (
    "weighted_metrics",
    "run_eagerly",
    "steps_per_execution",
    "jit_compile",
    "auto_scale_loss",
)


class Trainer:
    """The Keras training API, mixed into :class:`gpukeras.models.Model`."""

    compiled = False
    stop_training = False
    # Resuming (see EpochProgress): where the next fit starts, set by a callback
    # in on_train_begin, and the epoch in progress, which a callback may save.
    _resume_from: EpochProgress | None = None
    _next_epoch_progress: EpochProgress | None = None
    _epoch_progress: EpochProgress | None = None
    # Data-parallel fit: the decisions every rank takes together (TrainingAgreement).
    _agreement: Any = None

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        loss_weights: Any = None,
        **kwargs: Any,
    ) -> None:
        """Configure training.

        Args:
            optimizer: Optimizer instance or id; default ``'rmsprop'``.
            loss: Loss instance, id or class; default ``None`` (``fit`` and
                ``evaluate`` then refuse to run).
            metrics: List of metric ids or instances; default ``None``.
                Names in the logs are spelled as passed (``'acc'`` -> ``acc``).
                As in Keras 3 they ignore sample and class weights.
            loss_weights: A float (or one-element list/dict) scaling the
                loss; default ``None`` (1.0).
            **kwargs: ``weighted_metrics``: metrics averaged with the sample
                weights (default ``None``; a name already used by ``metrics``
                gets a ``weighted_`` prefix). ``auto_scale_loss`` (default
                ``True``): under a ``mixed_float16`` policy, wrap the optimizer
                in a ``LossScaleOptimizer``. Keras 3's ``run_eagerly``,
                ``steps_per_execution`` and ``jit_compile`` are accepted and
                have no effect.
        """
        unknown = sorted(set(kwargs) - set(_COMPILE_EXTRAS))
        if unknown:
            raise TypeError(
                f"Invalid keyword argument(s) for compile(): {', '.join(map(repr, unknown))}. "
                "Valid: optimizer, loss, metrics, loss_weights, " + ", ".join(_COMPILE_EXTRAS)
            )
        self.optimizer = auto_scale(optimizers.get(optimizer), kwargs.get("auto_scale_loss", True))
        self.loss = None if loss is None else losses_module.get(loss)
        self._loss_weight = _single_loss_weight(loss_weights)
        self._metric_ids = _metric_list(metrics, "metrics")
        self._weighted_metric_ids = _metric_list(kwargs.get("weighted_metrics"), "weighted_metrics")
        self._step: Step | None = None
        self._compile_config = {
            "optimizer": optimizer if isinstance(optimizer, str) else None,
            "loss": loss if isinstance(loss, str) else None,
            "metrics": savable_metric_ids(self._metric_ids),
            "weighted_metrics": savable_metric_ids(self._weighted_metric_ids),
            "loss_weights": loss_weights,
        }
        self.compiled = True

    # -- fit --------------------------------------------------------------
    @legacy_arguments("fit", {"nb_epoch": ("epochs", None)})
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Any = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: Any = 1,
        **kwargs: Any,
    ) -> Any:
        """Train for ``epochs`` epochs; returns the :class:`History` callback.

        Args:
            x: Inputs (NumPy or CuPy array, or nested lists), or a
                ``gpukeras.utils.Sequence`` or iterator yielding batches
                ``(x, y)`` / ``(x, y, sample_weight)``. Required.
            y: Targets, one row per input row; must be ``None`` when ``x``
                yields batches. Required for arrays.
            batch_size: Samples per step; default ``None`` (32).
            epochs: Index of the last epoch (exclusive); default ``1``.
                ``nb_epoch`` is its legacy name.
            verbose: 0 silent, 1 progress bar, 2 one line per epoch;
                default ``'auto'`` (1 on a terminal or in a notebook, 2 otherwise).
            callbacks: List of :class:`Callback`; default ``None``.
            validation_split: Fraction of the data, taken from the end before
                shuffling, held out for validation (arrays only); default ``0.0``.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val,
                val_sample_weight)``, or a Sequence or iterator of batches;
                overrides ``validation_split``; default ``None``.
            shuffle: Reshuffle the training data (a Sequence: its batch order)
                each epoch; default ``True``.
            class_weight: Class index -> loss weight; default ``None``.
            sample_weight: One weight per training sample; default ``None``.
            initial_epoch: Epoch to start from (for resuming); default ``0``.
            steps_per_epoch: Batches per epoch; default ``None`` (the whole data). With
                arrays, as in Keras 3, epochs then take consecutive batches of one shuffled
                pass and stop early (with a warning) when the pass ends.
            validation_steps: Batches per validation; default ``None`` (all).
            validation_batch_size: Default ``None`` (``batch_size``).
            validation_freq: Validate every N epochs (int) or at the listed
                1-based epochs; default ``1``.

        With a ``gpukeras.distributed.DistributedOptimizer`` and more than one
        MPI rank, training is data-parallel: ``batch_size`` is per rank, each
        rank trains on its slice of every global batch, and only rank 0 shows
        progress (see ``gpukeras.distributed.DataSharding``).
        """
        _reject_unknown("fit", kwargs)
        self._require_compiled("fit")
        batch_size = _data.check_batch_size(batch_size)
        val_batch = _data.check_batch_size(
            batch_size if validation_batch_size is None else validation_batch_size,
            "validation_batch_size",
        )
        epochs = _data.check_non_negative_int(epochs, "epochs")
        initial_epoch = _data.check_non_negative_int(initial_epoch, "initial_epoch")
        verbose = _resolve_verbose(verbose)
        if not isinstance(shuffle, bool):
            raise ValueError(f"`shuffle` must be True or False. Received: shuffle={shuffle!r}")
        train, held_out = self._training_data(
            x, y, sample_weight, class_weight, validation_split, validation_data, shuffle
        )
        steps = _pass_steps(train, batch_size, steps_per_epoch, "steps_per_epoch")
        # None unless data-parallel; a stream is not sharded (each rank reads its own)
        sharding = None if isinstance(train, BatchStream) else fit_sharding(self, train, batch_size)
        if sharding is not None:
            if steps_per_epoch is None:
                steps = sharding.steps(train.size, batch_size)
            verbose = verbose if sharding.is_chief else 0
        self._agreement = agreement = fit_agreement(self, train)  # None unless data-parallel
        if agreement is not None and agreement.rank != 0:
            verbose = 0  # streams are not sharded, but rank 0 alone shows progress all the same
        step = self._compiled_step(train)
        callback_list = CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=epochs,
            steps=steps,
            samples=train.size,
            batch_size=batch_size,
            do_validation=held_out is not None,
            metrics=_param_metrics(step, held_out is not None),
        )
        validate_at = _validation_epochs(validation_freq)
        self.stop_training = False
        self._resume_from = self._next_epoch_progress = None
        with leaving_aborts_the_job(agreement), callback_list.released_on_error():
            callback_list.on_train_begin()
            resume, self._resume_from = self._resume_from, None
            if agreement is not None:
                agreement.check_start(resume, initial_epoch, epochs, steps, callback_list)
            if resume is not None:
                initial_epoch = resume.epoch
            logs: Logs = Logs()
            carried: EpochProgress | None = None  # the rest of a pass, for the next epoch
            for epoch in range(initial_epoch, epochs):
                callback_list.on_epoch_begin(epoch)
                if agreement is not None:
                    agreement.stop_at_epoch_begin(epoch)
                progress = resume if epoch == initial_epoch else carried
                logs = self._train_epoch(
                    step, train, batch_size, steps, shuffle, callback_list, epoch, progress,
                    sharding,
                )  # fmt: skip
                if held_out is not None and validate_at(epoch + 1):
                    val_vector, val_count = self._test_loop(
                        step, held_out, val_batch, validation_steps, callback_list
                    )
                    _add_logs(logs, step, val_vector, val_count, held_out, prefix="val_")
                carried = _rest_of_pass(self._epoch_progress, train, batch_size, sharding)
                self._next_epoch_progress = carried  # what an epoch-end backup must keep
                callback_list.on_epoch_end(epoch, logs)
                stop = self.stop_training or _batches.ran_out(train, epoch, epochs)
                if agreement is not None:
                    stop = agreement.stop_after_epoch(epoch, stop)
                if stop:
                    break
            if epochs > initial_epoch or resume is not None:
                self.optimizer.finalize_variable_values(self.trainable_weights)  # EMA, as Keras
            callback_list.on_train_end(logs)
        return callback_list.history

    def _train_epoch(
        self,
        step: Step,
        data: Dataset,
        batch_size: int,
        steps: int,
        shuffle: bool,
        callback_list: CallbackList,
        epoch: int,
        resume: EpochProgress | None = None,
        sharding: DataSharding | None = None,
    ) -> Logs:
        """One epoch; ``resume`` continues an interrupted one (its order, batches done, sums).

        ``sharding`` (data-parallel fit) picks this rank's rows and the order all ranks share.
        """
        restored = resume is not None and bool(resume.batches_done or resume.first_batch)
        if not restored:
            order = None  # a fresh pass draws its order (a stream, in begin_epoch below)
            if isinstance(data, BatchStream):
                pass
            elif shuffle and sharding is not None:
                order = sharding.order(data.size, epoch)
            elif shuffle:
                order = K.random.permutation(data.size)
            resume = EpochProgress(epoch, order)
        progress = self._epoch_progress = resume
        if isinstance(data, BatchStream):
            data.begin_epoch(progress, restored)
        if not data.on_device and K.is_device_array(progress.order):
            # Host-resident data (too big for the device) is indexed on the host.
            progress.order = K.to_host(progress.order)
        with_batch_logs = callback_list.wants_batch_logs("train")
        if resume is not None and resume.batches_done:
            step.resume_metrics()  # BackupAndRestore put their mid-epoch state back
        else:
            step.reset_metrics()
        batches = _batch_positions(data, sharding)
        steps = _steps_left_in_pass(data, batch_size, steps, progress.first_batch, sharding)
        positions = batches(data.size, batch_size, steps, progress.order, progress.first_batch)
        if self._agreement is not None:
            positions = self._agreement.batches(positions, epoch)
        for batch, index in enumerate(positions):
            if batch < progress.batches_done:
                continue  # trained before the interruption; draws nothing
            x, y, weights = data.batch(index)
            if is_check_numerics_enabled():
                check_batch(data, index, batch, (x, y, weights), epoch)
            size = int(x.shape[0])
            if with_batch_logs:
                callback_list.on_train_batch_begin(batch, Logs(batch=batch, size=size))
            stats = step.train(x, y, weights)
            progress.total = stats if progress.total is None else progress.total + stats
            progress.seen += size
            progress.batches_done = batch + 1
            if with_batch_logs:
                batch_logs = Logs(batch=batch, size=size)
                _add_logs(batch_logs, step, progress.total, progress.seen, data)
                callback_list.on_train_batch_end(batch, batch_logs)
            if self._agreement is not None and self._agreement.per_batch:
                self._agreement.stop_after_batch(epoch, batch)
            if self.stop_training:
                break
        logs = Logs()
        if progress.total is not None:
            _add_logs(logs, step, progress.total, progress.seen, data)
        return logs

    # -- evaluate ---------------------------------------------------------
    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Any = None,
        return_dict: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Loss and metrics on ``(x, y)``.

        Args:
            x, y: Inputs and targets; or ``x`` a Sequence or iterator of
                batches and ``y=None``. Required.
            batch_size: Default ``None`` (32).
            verbose: 0 silent, 1 or 2 show progress; default ``'auto'``.
            sample_weight: One weight per sample; default ``None``.
            steps: Number of batches; default ``None`` (all).
            callbacks: Callbacks whose ``on_test_*`` hooks run; default ``None``.
            return_dict: Return ``{name: value}`` instead of a list; default ``False``.

        Returns:
            The loss (a float) when there are no metrics, else
            ``[loss, metric_1, ...]``; or a dict with ``return_dict=True``.
        """
        _reject_unknown("evaluate", kwargs)
        self._require_compiled("evaluate")
        batch_size = _data.check_batch_size(batch_size)
        verbose = _resolve_verbose(verbose)
        if _batches.is_batch_stream(x):
            data = self._stream(x, "x", y, sample_weight)
        else:
            data = self._dataset(x, y, _data.sample_weights(y, sample_weight, None), "x", "y")
        step = self._compiled_step(data)
        callback_list = CallbackList(
            callbacks,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=1,
            steps=_capped_steps(data, batch_size, steps, "steps"),
            samples=data.size,
        )
        vector, count = self._test_loop(step, data, batch_size, steps, callback_list)
        logs = Logs()
        _add_logs(logs, step, vector, count, data)
        values = logs.copy()
        if return_dict:
            return values
        ordered = [values["loss"], *(values[name] for name in step.metric_names)]
        return ordered[0] if len(ordered) == 1 else ordered

    def _test_loop(
        self,
        step: Step,
        data: Dataset,
        batch_size: int,
        steps: int | None,
        callback_list: CallbackList,
    ) -> tuple[Any, int]:
        steps = _capped_steps(data, batch_size, steps, "validation_steps")
        if isinstance(data, BatchStream):
            data.rewind()  # each validation reads from the first batch on, as in Keras 3
        with_batch_logs = callback_list.wants_batch_logs("test")
        callback_list.on_test_begin()
        step.reset_metrics()
        total, seen = None, 0
        batches = _batch_positions(data)
        for batch, index in enumerate(batches(data.size, batch_size, steps, None)):
            x, y, weights = data.batch(index)
            if is_check_numerics_enabled():
                check_batch(data, index, batch, (x, y, weights))
            if with_batch_logs:
                callback_list.on_test_batch_begin(batch, Logs(batch=batch, size=int(x.shape[0])))
            stats = step.test(x, y, weights)
            total = stats if total is None else total + stats
            seen += int(x.shape[0])
            if with_batch_logs:
                batch_logs = Logs(batch=batch, size=int(x.shape[0]))
                _add_logs(batch_logs, step, total, seen, data)
                callback_list.on_test_batch_end(batch, batch_logs)
        end_logs = Logs()
        _add_logs(end_logs, step, total, seen, data)
        callback_list.on_test_end(end_logs)
        return total, seen

    # -- predict ----------------------------------------------------------
    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: Any = None,
    ) -> numpy.ndarray:
        """Outputs for ``x`` as a NumPy array, computed batch by batch.

        Args:
            x: Inputs, or a Sequence or iterator of batches (``x`` or
                ``(x, ...)``). Required.
            batch_size: Default ``None`` (32).
            verbose: 0 silent, 1 or 2 show progress; default ``'auto'``.
            steps: Number of batches; default ``None`` (all).
            callbacks: Callbacks whose ``on_predict_*`` hooks run; default ``None``.
        """
        batch_size = _data.check_batch_size(batch_size)
        verbose = _resolve_verbose(verbose)
        if _batches.is_batch_stream(x):
            data: Any = self._stream(x, "x", predicting=True)
        else:
            data = self._dataset(x, None, None, "x", None)
        steps = _capped_steps(data, batch_size, steps, "steps")
        callback_list = CallbackList(
            callbacks,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=1,
            steps=steps,
            samples=data.size,
        )
        callback_list.on_predict_begin()
        outputs = []
        batches = _batch_positions(data)
        for batch, index in enumerate(batches(data.size, batch_size, steps, None)):
            inputs, _, _ = data.batch(index)
            if is_check_numerics_enabled():
                check_batch(data, index, batch, (inputs, None, None))
            callback_list.on_predict_batch_begin(batch, {"batch": batch, "size": len(inputs)})
            outputs.append(self._forward(inputs))
            callback_list.on_predict_batch_end(batch, {"outputs": outputs[-1]})
        callback_list.on_predict_end()
        xp = K.array_module()
        return K.to_host(xp.concatenate(outputs) if len(outputs) > 1 else outputs[0])

    # -- single batches ---------------------------------------------------
    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """One update on one batch; returns that batch's loss (and metrics).

        Args:
            x, y: One batch. Required.
            sample_weight: Default ``None``.
            class_weight: Default ``None``.
            return_dict: Return ``{name: value}``; default ``False``.
        """
        self._require_compiled("train_on_batch")
        data = self._dataset(x, y, _data.sample_weights(y, sample_weight, class_weight), "x", "y")
        step = self._compiled_step(data)
        step.reset_metrics()  # Keras's reset_metrics=True: the logs describe this batch
        stats = step.train(data.x, data.y, data.sample_weight)
        return _one_batch_result(step, stats, data, return_dict)

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> Any:
        """Loss (and metrics) on one batch, without updating."""
        self._require_compiled("test_on_batch")
        data = self._dataset(x, y, _data.sample_weights(y, sample_weight, None), "x", "y")
        step = self._compiled_step(data)
        step.reset_metrics()
        return _one_batch_result(
            step, step.test(data.x, data.y, data.sample_weight), data, return_dict
        )

    def predict_on_batch(self, x: Any) -> numpy.ndarray:
        """Outputs for one batch as a NumPy array."""
        data = self._dataset(x, None, None, "x", None, allow_empty=True)
        return K.to_host(self._forward(data.x))

    # -- helpers ----------------------------------------------------------
    def _require_compiled(self, method: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call compile() before {method}(). "
                "Example: model.compile(optimizer='rmsprop', loss='categorical_crossentropy')"
            )
        if self.loss is None and method != "predict":
            raise ValueError(
                f"The model was compiled without a loss, so {method}() cannot compute one. "
                "Received: loss=None. Pass loss=... to compile()."
            )

    def _training_data(
        self,
        x: Any,
        y: Any,
        sample_weight: Any,
        class_weight: Any,
        validation_split: Any,
        validation_data: Any,
        shuffle: bool = False,
    ) -> tuple[Any, Any]:
        if _batches.is_batch_stream(x):
            return self._stream_training_data(
                x, y, sample_weight, class_weight, validation_split, validation_data, shuffle
            )
        if x is None or y is None:
            raise ValueError(f"fit() needs both x and y. Received: x={_kind(x)}, y={_kind(y)}")
        weights = _data.sample_weights(y, sample_weight, class_weight)
        if _batches.is_batch_stream(validation_data):
            train = self._dataset(x, y, weights, "x", "y")
            return train, self._stream(validation_data, "validation_data")
        if validation_data is not None:
            val_x, val_y, val_w = _data.unpack_validation_data(validation_data)
            held = self._dataset(
                val_x,
                val_y,
                _data.sample_weights(val_y, val_w, None, "validation_data[2]"),
                "validation_data[0]",
                "validation_data[1]",
            )
            return self._dataset(x, y, weights, "x", "y"), held
        x = _data.host_or_device_array(x, "x")
        y = _data.host_or_device_array(y, "y")
        _data.check_rows("fit", {"x": x, "y": y, "sample_weight": weights})
        _data.check_not_empty(x, "x")
        (tx, ty, tw), held_parts = _data.split_validation(x, y, weights, validation_split)
        train = self._dataset(tx, ty, tw, "x", "y")
        if held_parts is None:
            return train, None
        vx, vy, vw = held_parts
        held = self._dataset(vx, vy, vw, "x", "y")
        held.names = tuple(f"{name}'s validation_split part" for name in held.names)
        return train, held

    def _stream_training_data(
        self,
        x: Any,
        y: Any,
        sample_weight: Any,
        class_weight: Any,
        validation_split: Any,
        validation_data: Any,
        shuffle: bool,
    ) -> tuple[BatchStream, Any]:
        if validation_split:
            raise ValueError(
                "`validation_split` needs arrays: it cannot split a Sequence or generator. "
                f"Pass validation_data instead. Received: validation_split={validation_split!r}"
            )
        train = self._stream(x, "x", y, sample_weight, class_weight, shuffle)
        if validation_data is None:
            return train, None
        if _batches.is_batch_stream(validation_data):
            return train, self._stream(validation_data, "validation_data")
        val_x, val_y, val_w = _data.unpack_validation_data(validation_data)
        held = self._dataset(
            val_x,
            val_y,
            _data.sample_weights(val_y, val_w, None, "validation_data[2]"),
            "validation_data[0]",
            "validation_data[1]",
        )
        return train, held

    def _stream(
        self,
        source: Any,
        argument: str,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        shuffle: bool = False,
        predicting: bool = False,
    ) -> BatchStream:
        """A Sequence or iterator of batches; its first batch builds the model if needed."""
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(
                    f"When `{argument}` is a Sequence or generator, `{name}` must be None: "
                    f"each batch carries its own. Received: {name} of type {_kind(value)}"
                )
        checker = _batches.BatchChecker(
            self, not predicting, _is_sparse(getattr(self, "loss", None)), class_weight
        )
        return BatchStream(source, checker, argument, shuffle)

    def _dataset(
        self,
        x: Any,
        y: Any,
        weights: Any,
        x_name: str,
        y_name: str | None,
        allow_empty: bool = False,
    ) -> Dataset:
        if x is None:
            raise ValueError(f"`{x_name}` is required. Received: {x_name}=None")
        x = _data.as_inputs(x, x_name)
        if y_name is not None and y is None:
            raise ValueError(f"`{y_name}` is required. Received: {y_name}=None")
        y = None if y is None else _data.as_targets(y, y_name or "y")
        sample_name = "sample_weight" if x_name == "x" else "validation_data[2]"
        _data.check_rows("data", {x_name: x, (y_name or "y"): y, sample_name: weights})
        if not allow_empty:  # fit, evaluate and predict refuse empty data, as Keras does
            _data.check_not_empty(x, x_name)
        self._ensure_model_built(tuple(x.shape))
        _data.check_inputs(x, self.input_shape, x_name)
        if y is not None:
            y = _data.check_targets(y, self.output_shape, _is_sparse(self.loss), y_name)
        nbytes = sum(int(a.nbytes) for a in (x, y, weights) if a is not None)
        on_device = K.device_can_hold(nbytes)
        if on_device:
            x, y, weights = (None if a is None else K.to_device(a) for a in (x, y, weights))
        return Dataset(x, y, weights, on_device, (x_name, y_name or "y", sample_name))

    def _compiled_step(self, data: Dataset) -> Step:
        if self._step is None:
            y_probe = data.y[:1]
            if not data.on_device:
                y_probe = K.to_device(y_probe)
            xp = K.array_module()
            out_probe = xp.zeros((1, *self.output_shape[1:]), dtype=K.floatx())

            def resolve(ids: list[Any]) -> list[Any]:
                return [
                    metrics_module.get(m, loss=self.loss, y_true=y_probe, y_pred=out_probe)
                    for m in ids
                ]

            self._step = make_step(
                self,
                self.loss,
                self._loss_weight,
                resolve(self._metric_ids),
                resolve(self._weighted_metric_ids),
                self.optimizer,
            )
            step_metrics = getattr(self._step, "metrics", []) + self._step.weighted_metrics
            build_states(step_metrics, y_probe, out_probe)
        return self._step

    def _forward(self, x: Any) -> Any:
        return forward_pass(layer_stack(self), x, training=False)


# -- module helpers ---------------------------------------------------------
_FIT_ARGS = (
    "x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, "
    "shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch, "
    "validation_steps, validation_batch_size, validation_freq"
)


def _reject_unknown(method: str, kwargs: dict[str, Any]) -> None:
    if kwargs:
        names = ", ".join(map(repr, sorted(kwargs)))
        valid = f" Valid arguments: {_FIT_ARGS}." if method == "fit" else ""
        raise TypeError(f"Invalid keyword argument(s) for {method}(): {names}.{valid}")


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _resolve_verbose(verbose: Any) -> int:
    if verbose == "auto":  # a live bar where lines redraw: a terminal or a Jupyter notebook
        return 1 if _dynamic_display() else 2
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
    return int(verbose)


def _pass_steps(data: Any, batch_size: int, steps: Any, argument: str) -> int | None:
    """Batches in one pass over ``data``; ``None`` for an iterator without ``steps``."""
    if isinstance(data, BatchStream):
        return data.steps(steps, argument)
    return _steps(data.size, batch_size, steps, argument)


def _capped_steps(data: Any, batch_size: int, steps: Any, argument: str) -> int | None:
    """Batches for evaluate/predict: array data is read at most once (Keras stops there)."""
    count = _pass_steps(data, batch_size, steps, argument)
    if isinstance(data, BatchStream) or count is None:
        return count
    per_pass = max(1, math.ceil(data.size / batch_size))
    if count <= per_pass:
        return count
    warnings.warn(
        f"Your input ran out of data after {per_pass} batches of {data.size} samples; "
        f"stopping there. Received: {argument}={steps!r}",
        stacklevel=3,
    )
    return per_pass


def _batch_positions(data: Any, sharding: DataSharding | None = None):
    """The function yielding an epoch's batch indices, for ``data.batch(index)``:
    ``(size, batch_size, steps, order, first)``, ``first`` being the epoch's start in its pass."""
    if isinstance(data, BatchStream):
        return lambda size, batch_size, steps, order, first=0: data.batch_indices(
            size, batch_size, steps, order
        )
    return sharding.batch_indices if sharding else _batch_indices


def _batches_per_pass(data: Any, batch_size: int, sharding: DataSharding | None) -> int | None:
    if isinstance(data, BatchStream):
        return None  # a stream stops its own epochs at a pass's end
    if sharding is not None:
        return sharding.steps(data.size, batch_size)
    return max(1, math.ceil(data.size / batch_size))


def _steps_left_in_pass(
    data: Any, batch_size: int, steps: int, first: int, sharding: DataSharding | None
) -> int:
    """``steps``, or fewer when the pass ends first: as in Keras 3, an epoch never wraps
    around the data (a warning says so, and the next epoch starts a new pass)."""
    per_pass = _batches_per_pass(data, batch_size, sharding)
    if per_pass is None or steps is None or first + steps <= per_pass:
        return steps
    left = per_pass - first
    shape = f"{data.size} samples at batch_size={batch_size} make {per_pass}"
    _batches.warn_short_epoch(left, steps, first, shape)
    return left


def _rest_of_pass(
    progress: EpochProgress, data: Any, batch_size: int, sharding: DataSharding | None
) -> EpochProgress | None:
    """Where the next epoch starts when this one left part of its pass unused, else None."""
    if isinstance(data, BatchStream):
        if not data.is_sequence:
            return None  # an iterator keeps its own place
        per_pass = data.num_batches  # None: an infinite Sequence, never used up
    else:
        per_pass = _batches_per_pass(data, batch_size, sharding)
    done = progress.first_batch + progress.batches_done
    if per_pass is not None and done >= per_pass:
        return None
    return EpochProgress(progress.epoch + 1, progress.order, first_batch=done)


def _steps(size: int, batch_size: int, steps: Any, argument: str) -> int:
    if steps is None:
        return max(1, math.ceil(size / batch_size))
    if isinstance(steps, bool) or not isinstance(steps, (int, numpy.integer)) or steps < 1:
        raise ValueError(f"`{argument}` must be a positive int. Received: {argument}={steps!r}")
    return int(steps)


def _batch_indices(size: int, batch_size: int, steps: int, order: Any, first: int = 0):
    """Yield each step's rows: slices (views) in order, or chunks of a permutation, from
    batch ``first`` of the pass on."""
    per_pass = max(1, math.ceil(size / batch_size))
    for step in range(first, first + steps):
        start = (step % per_pass) * batch_size
        stop = min(start + batch_size, size)
        yield slice(start, stop) if order is None else order[start:stop]


def _validation_epochs(validation_freq: Any):
    if _is_positive_int(validation_freq):
        every = int(validation_freq)
        return lambda epoch: epoch % every == 0
    if isinstance(validation_freq, (list, tuple, set)) and all(
        _is_positive_int(e) for e in validation_freq
    ):
        chosen = {int(e) for e in validation_freq}
        return lambda epoch: epoch in chosen
    raise ValueError(
        "`validation_freq` must be a positive int or a list of 1-based epochs. "
        f"Received: validation_freq={validation_freq!r}"
    )


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, bool) and value >= 1


def _add_logs(
    logs: Logs, step: Step, vector: Any, count: int, data: Dataset, prefix: str = ""
) -> None:
    if vector is None:
        return
    entries = step.log_entries(count, weighted=data.sample_weight is not None)
    logs.add_ratios(vector, [(prefix + key, num, den) for key, num, den in entries])


def _one_batch_result(step: Step, stats: Any, data: Dataset, return_dict: bool) -> Any:
    logs = Logs()
    _add_logs(logs, step, stats, data.size, data)
    values = logs.copy()
    if return_dict:
        return values
    ordered = [values["loss"], *(values[name] for name in step.metric_names)]
    return ordered[0] if len(ordered) == 1 else ordered


def _param_metrics(step: Step, validating: bool) -> list[str]:
    names = ["loss", *step.metric_names]
    return names + ([f"val_{n}" for n in names] if validating else [])


def _is_sparse(loss: Any) -> bool:
    return type(loss).__name__.startswith("Sparse") or getattr(loss, "sparse", False)


def _single_loss_weight(loss_weights: Any) -> float:
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


def _metric_list(metrics: Any, argument: str) -> list[Any]:
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
