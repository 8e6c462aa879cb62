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
from gpukeras import optimizers
from gpukeras._legacy import legacy_arguments
from gpukeras.callbacks import CallbackList, Logs
from gpukeras.callbacks._progbar_logger import _dynamic_display
from gpukeras.debugging import is_check_numerics_enabled
from gpukeras.debugging._check_numerics import check_batch
from gpukeras.distributed import DataSharding, fit_sharding
from gpukeras.distributed._agreement import fit_agreement
from gpukeras.distributed._early_exit import leaving_aborts_the_job
from gpukeras.mixed_precision._loss_scale_optimizer import auto_scale
from gpukeras.models import _batches, _data, _multi_data, _structure
from gpukeras.models import _compile_outputs as compile_outputs
from gpukeras.models._batches import BatchStream
from gpukeras.models._data import Dataset
from gpukeras.models._progress import EpochProgress
from gpukeras.models._step import Step, forward_pass, layer_stack
from gpukeras.models._trainer_data import TrainingData

_COMPILE_EXTRAS = (
    "weighted_metrics",
    "run_eagerly",
    "steps_per_execution",
    "jit_compile",
    "auto_scale_loss",
)


class Trainer(TrainingData):
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
        weighted_metrics = kwargs.get("weighted_metrics")
        # Per output (lists/dicts) they are resolved once the outputs are known.
        self._per_output_compile = (loss, loss_weights, metrics, weighted_metrics)
        self.loss, self._loss_weight = compile_outputs.loss_and_weight(loss, loss_weights)
        self._metric_ids = compile_outputs.metric_list(metrics, "metrics")
        self._weighted_metric_ids = compile_outputs.metric_list(
            weighted_metrics, "weighted_metrics"
        )
        self._step: Step | None = None
        self._output_heads = None
        self._compile_config = {
            "optimizer": optimizer if isinstance(optimizer, str) else None,
            "loss": loss if isinstance(loss, str) else compile_outputs.saved_form(loss),
            "metrics": compile_outputs.saved_metrics(metrics, self._metric_ids),
            "weighted_metrics": compile_outputs.saved_metrics(
                weighted_metrics, self._weighted_metric_ids
            ),
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
            x: Inputs (NumPy or CuPy array, or nested lists; a list or dict of
                arrays for several inputs), or a ``gpukeras.utils.Sequence`` or
                iterator yielding batches ``(x, y)`` / ``(x, y, sample_weight)``. Required.
            y: Targets, one row per input row (a list, or a dict by output name, for
                several outputs); must be ``None`` when ``x`` yields batches. Required
                for arrays.
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
            sample_weight: One weight per training sample (or a list/dict with one
                array per output); default ``None``.
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
            size = _structure.rows(x)
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
            data = self._dataset(
                x, y, _multi_data.sample_weights(y, sample_weight, None, "sample_weight"), "x", "y"
            )
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
        return _as_list(step, values)

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
            size = _structure.rows(x)
            if with_batch_logs:
                callback_list.on_test_batch_begin(batch, Logs(batch=batch, size=size))
            stats = step.test(x, y, weights)
            total = stats if total is None else total + stats
            seen += size
            if with_batch_logs:
                batch_logs = Logs(batch=batch, size=size)
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
    ) -> Any:
        """Outputs for ``x`` as a NumPy array (a list or dict of them for a model with
        several outputs), computed batch by batch.

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
            callback_list.on_predict_batch_begin(
                batch, {"batch": batch, "size": _structure.rows(inputs)}
            )
            outputs.append(self._forward(inputs))
            callback_list.on_predict_batch_end(batch, {"outputs": outputs[-1]})
        callback_list.on_predict_end()
        return _structure.concatenate_to_host(outputs)

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
        data = self._dataset(
            x,
            y,
            _multi_data.sample_weights(y, sample_weight, class_weight, "sample_weight"),
            "x",
            "y",
        )
        step = self._compiled_step(data)
        step.reset_metrics()  # Keras's reset_metrics=True: the logs describe this batch
        stats = step.train(*data.whole())
        return _one_batch_result(step, stats, data, return_dict)

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> Any:
        """Loss (and metrics) on one batch, without updating."""
        self._require_compiled("test_on_batch")
        data = self._dataset(
            x, y, _multi_data.sample_weights(y, sample_weight, None, "sample_weight"), "x", "y"
        )
        step = self._compiled_step(data)
        step.reset_metrics()
        return _one_batch_result(step, step.test(*data.whole()), data, return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch as a NumPy array (or a list/dict of them)."""
        data = self._dataset(x, None, None, "x", None, allow_empty=True)
        return _structure.concatenate_to_host([self._forward(data.whole()[0])])

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
    return _as_list(step, values)


def _as_list(step: Step, values: dict[str, Any]) -> Any:
    """evaluate's list: the loss alone, or ``[loss, metrics...]`` in Keras 3's order."""
    if hasattr(step, "keras_order"):  # several outputs: see MultiOutputStep.keras_order
        ordered = step.keras_order(values)
    else:
        ordered = [values["loss"], *(values[name] for name in step.metric_names)]
    return ordered[0] if len(ordered) == 1 else ordered


def _param_metrics(step: Step, validating: bool) -> list[str]:
    names = ["loss", *step.metric_names]
    return names + ([f"val_{n}" for n in names] if validating else [])
