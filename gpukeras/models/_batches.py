"""Batches that arrive one at a time: a ``gpukeras.utils.Sequence`` or a Python iterator.

``fit``, ``evaluate`` and ``predict`` take either arrays (see ``_data``) or a
``BatchStream``. A stream looks enough like ``_data.Dataset`` for the loop:
``batch_indices(...)`` yields the positions of one pass and ``batch(position)``
returns that batch's ``(x, y, sample_weight)``, checked and on the device. The
first batch is read when the stream is made, so the model can be built and the
training step compiled before the first epoch.
"""

from __future__ import annotations

import itertools
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras._legacy import warn_user
from gpukeras.models import _data, _multi_data, _structure
from gpukeras.models._compile_outputs import is_sparse
from gpukeras.models._structure import Nest
from gpukeras.utils._sequence import Sequence

Batch = tuple[Any, Any, Any]


def is_batch_stream(value: Any) -> bool:
    """Whether ``value`` hands out batches itself (a Sequence, a generator or an iterator)."""
    if isinstance(value, (Sequence, types.GeneratorType)):
        return True
    if K.is_device_array(value) or isinstance(value, (numpy.ndarray, list, tuple, str, bytes)):
        return False
    return hasattr(value, "__next__") and hasattr(value, "__iter__")


class BatchStream:
    """One Sequence or iterator as the batch source of a fit, evaluate or predict.

    Args:
        source: A ``gpukeras.utils.Sequence`` or an iterator of batches. Required.
        prepare: ``prepare(raw_batch, label)`` checks one batch and returns it on the
            device as ``(x, y, sample_weight)``. Required.
        argument: The argument the stream was passed as, for messages; default ``'x'``.
        shuffle: Visit a finite Sequence's batches in a new random order every pass;
            default ``False``.
    """

    on_device = True  # each batch is placed on the device as it is prepared
    size = None  # samples are not known before a pass

    def __init__(
        self,
        source: Any,
        prepare: Callable[[Any, str], Batch],
        argument: str = "x",
        shuffle: bool = False,
    ) -> None:
        self.argument = argument
        self._source = source
        self._prepare = prepare
        self._is_sequence = isinstance(source, Sequence)
        self.num_batches = _sequence_length(source, argument) if self._is_sequence else None
        self._shuffle = shuffle and self.num_batches is not None
        self._iterator: Iterator[Any] | None = None if self._is_sequence else iter(source)
        self._drawn = 0  # batches taken from the iterator so far
        self._order: Any = None  # this pass's Sequence indices (host array) or None
        self._next_position = 0  # where in the pass the next epoch starts
        self._current: Batch | None = None
        self.exhausted = False
        first = self._first_batch()
        # What the loop reads from a Dataset: a target probe and whether weights exist.
        self.x, self.y, self.sample_weight = first
        self._peeked: Batch | None = first

    @property
    def is_sequence(self) -> bool:
        """Whether the source is a Sequence (batches by index), not an iterator."""
        return self._is_sequence

    # -- what the training loop calls -------------------------------------
    def steps(self, steps: Any, argument: str) -> int | None:
        """Batches per pass: ``steps`` if given, else the Sequence's length (``None``: all)."""
        if steps is not None:
            if isinstance(steps, bool) or not isinstance(steps, (int, numpy.integer)) or steps < 1:
                raise ValueError(
                    f"`{argument}` must be a positive int. Received: {argument}={steps!r}"
                )
            return int(steps)
        if self._is_sequence and self.num_batches is None:
            raise ValueError(
                f"`{self.argument}` is an infinite Sequence (num_batches is None), so "
                f"`{argument}` is required. Received: {argument}=None"
            )
        return self.num_batches

    def batch_indices(self, size: Any, batch_size: int, steps: int | None, order: Any):
        """The positions of one pass (the signature of the array loop's batch indices).

        ``size``, ``batch_size`` and ``order`` are ignored: the source decides. A pass
        over a Sequence calls its ``on_epoch_begin`` and ``on_epoch_end``; a pass over
        an iterator ends early when the iterator is used up.
        """
        if self._is_sequence:
            yield from self._sequence_pass(steps)
        else:
            yield from self._iterator_pass(steps)

    def begin_epoch(self, progress: Any, restored: bool) -> None:
        """Tie a training epoch's place in a Sequence to ``progress``, so a backup keeps it.

        A ``restored`` epoch (one a backup or the previous epoch left part-way through a
        pass) sets where the pass stands and its order; a fresh one starts a pass, drawing
        a new order when shuffling, and records both in ``progress``.
        """
        if not self._is_sequence:
            return
        if restored:
            self._next_position = progress.first_batch
            self._order = None if progress.order is None else K.to_host(progress.order)
            return
        self._next_position = 0
        if self._shuffle:
            self._order = K.random.host_generator().permutation(self.num_batches)
        progress.first_batch, progress.order = 0, self._order

    def rewind(self) -> None:
        """Start the next pass at the Sequence's first batch, as Keras 3 resets its
        iterator before every evaluation (validation does not go on through the data)."""
        self._next_position = 0

    def batch(self, position: int) -> Batch:
        """The batch at ``position`` of the current pass, checked and on the device."""
        if self._is_sequence:
            index = self._sequence_index(position)
            if index == 0 and self._peeked is not None:
                batch, self._peeked = self._peeked, None
                return batch
            return self._prepare(self._source[index], self._label(index))
        assert self._current is not None
        return self._current

    # -- passes -----------------------------------------------------------
    def _sequence_pass(self, steps: int | None):
        """One epoch's positions. As in Keras 3, with ``steps`` epochs go on through the
        Sequence where the last one stopped, stop (with a warning) at its end rather than
        wrap around, and the epoch after that starts a new pass (a new shuffled order,
        drawn by :meth:`begin_epoch`)."""
        count = self.num_batches
        self._source.on_epoch_begin()
        first = self._next_position
        take = steps if steps is not None else count
        if count is not None and first + take > count:  # type: ignore[operator]
            if steps is not None:
                warn_short_epoch(count - first, steps, first, f"`{self.argument}` has {count}")
            take = count - first
        yield from range(first, first + take)  # type: ignore[operator]
        self._next_position = first + take  # type: ignore[operator]
        if count is not None and self._next_position >= count:
            self._next_position = 0
        self._source.on_epoch_end()

    def _sequence_index(self, position: int) -> int:
        return position if self._order is None else int(self._order[position])

    def _iterator_pass(self, steps: int | None):
        positions = itertools.count() if steps is None else range(steps)
        yielded = 0
        for position in positions:
            if self._peeked is not None:
                self._current, self._peeked = self._peeked, None
            else:
                raw = next(self._iterator, _END)  # type: ignore[arg-type]
                if raw is _END:
                    self.exhausted = True
                    break
                self._current = self._prepare(raw, self._label(self._drawn))
                self._drawn += 1
            yielded += 1
            yield position
        if yielded == 0:
            warnings.warn(
                f"`{self.argument}` ran out of data: its iterator yielded no batches for this "
                "pass. A generator is used up after one pass; let it yield batches for every "
                "epoch (with steps_per_epoch / validation_steps / steps) or use a "
                "gpukeras.utils.Sequence.",
                stacklevel=2,
            )

    def _first_batch(self) -> Batch:
        if self._is_sequence:
            if self.num_batches == 0:
                raise ValueError(f"`{self.argument}` is a Sequence with no batches (len 0)")
            return self._prepare(self._source[self._sequence_index(0)], self._label(0))
        raw = next(self._iterator, _END)  # type: ignore[arg-type]
        if raw is _END:
            raise ValueError(
                f"`{self.argument}` is an iterator that yielded no batches. "
                f"Received: {self.argument} of type {type(self._source).__name__}, already used up"
            )
        self._drawn = 1
        return self._prepare(raw, self._label(0))

    def _label(self, index: int) -> str:
        kind = "Sequence" if self._is_sequence else "generator"
        return f"batch {index} from {self.argument} (a {kind})"


_END = object()


def warn_short_epoch(left: int, steps: int, first: int, pass_size: str) -> None:
    """The data of a pass ran out before ``steps`` (arrays and Sequences alike).

    ``pass_size`` says how many batches a pass has, e.g. "`x` has 5"."""
    warn_user(
        f"The training data ran out after {left} of the {steps} batches this epoch asked for "
        f"({pass_size} batches a pass and {first} were used by earlier epochs). As in Keras 3, "
        "the epoch stops here and the next one starts a new pass.",
        UserWarning,
    )


def _sequence_length(source: Sequence, argument: str) -> int | None:
    count = source.num_batches
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, (int, numpy.integer)) or count < 0:
        raise ValueError(
            f"`{argument}`: len() of a Sequence must be a non-negative int. Received: {count!r}"
        )
    return int(count)


def ran_out(stream: Any, epoch: int, epochs: int) -> bool:
    """After a training epoch: whether ``stream`` (if it is one) has no batches left.

    Warns as Keras does; ``fit`` then stops instead of running empty epochs.
    """
    if not isinstance(stream, BatchStream) or not stream.exhausted or epoch + 1 >= epochs:
        return False
    warnings.warn(
        f"Your input ran out of data after epoch {epoch + 1}; interrupting training. "
        f"Make sure that `{stream.argument}` can produce at least steps_per_epoch * epochs "
        "batches (a plain generator is used up after one pass), or use a "
        "gpukeras.utils.Sequence.",
        stacklevel=4,
    )
    return True


class BatchChecker:
    """Turns one raw batch into checked device arrays ``(x, y, sample_weight)``.

    Args:
        model: The model the batches are for (built from the first batch if needed). Required.
        needs_targets: Whether batches must hold targets (fit, evaluate). Required.
        sparse: Whether the loss takes integer class labels; default ``False``.
        class_weight: Class index -> weight, turned into per-batch sample weights;
            default ``None``.
    """

    def __init__(
        self, model: Any, needs_targets: bool, sparse: bool = False, class_weight: Any = None
    ) -> None:
        self.model = model
        self.needs_targets = needs_targets
        self.sparse = sparse
        self.class_weight = class_weight
        self._weighted: bool | None = None  # fixed by the first batch

    def __call__(self, raw: Any, label: str) -> Batch:
        parts = _as_parts(raw, label)
        x = _multi_data.inputs(parts[0], f"inputs of {label}")
        if not self.needs_targets:
            return self._placed(x, None, None, label)
        if len(parts) < 2:
            raise ValueError(
                f"{label} holds inputs only; fit and evaluate need batches (x, y) or "
                f"(x, y, sample_weight). Received: a tuple of {len(parts)}"
            )
        y = _multi_data.targets(parts[1], f"targets of {label}")
        given = parts[2] if len(parts) == 3 else None
        if given is not None and self.class_weight is not None:
            raise ValueError(
                f"{label} holds sample weights and fit() was given class_weight; use one. "
                f"Received: class_weight={self.class_weight!r}"
            )
        weights = _multi_data.sample_weights(
            y, given, self.class_weight, f"sample weights of {label}"
        )
        _check_rows(label, x, y, weights)
        self._check_weighting(weights is not None, label)
        return self._placed(x, y, weights, label)

    def _placed(self, x: Any, y: Any, weights: Any, label: str) -> Batch:
        model = self.model
        x = _multi_data.built_for(model, x, f"inputs of {label}")
        _multi_data.check_inputs(x, model, f"inputs of {label}")
        if _multi_data.is_multi_output(model):
            weights = _multi_data.by_output(model, weights, f"sample weights of {label}", False)
            if y is not None:
                y = _multi_data.by_output(model, y, f"targets of {label}", required=True)
                y = _multi_data.check_targets(model, y, is_sparse)
        elif y is not None:
            shape = _multi_data.single_output_shape(model)
            y = _multi_data.single_target(model, y)
            y = _data.check_targets(y, shape, self.sparse, f"targets of {label}")
        placed = (_structure.to_device(a) for a in (x, y, weights))
        return _structure.step_parts(*placed)

    def _check_weighting(self, weighted: bool, label: str) -> None:
        # Statistics of weighted and unweighted batches have different layouts: no mixing.
        if self._weighted is None:
            self._weighted = weighted
        elif weighted != self._weighted:
            have = "has" if weighted else "has no"
            first = "had" if self._weighted else "had none"
            raise ValueError(
                f"{label} {have} sample weights but the first batch {first}; every batch "
                "must be (x, y) or every batch (x, y, sample_weight)"
            )


def _as_parts(raw: Any, label: str) -> tuple[Any, ...]:
    if K.is_device_array(raw) or isinstance(raw, (numpy.ndarray, dict)):
        return (raw,)  # a dict is the inputs of a model with several (as in Keras)
    if isinstance(raw, list):
        raw = tuple(raw)
    if not isinstance(raw, tuple) or len(raw) not in (1, 2, 3):
        shown = f"a tuple of {len(raw)}" if isinstance(raw, tuple) else type(raw).__name__
        raise TypeError(
            f"{label} must be a tuple (x, y) or (x, y, sample_weight) (or x alone for "
            f"predict). Received: {shown}"
        )
    return raw


def _check_rows(label: str, x: Any, y: Any, weights: Any) -> None:
    named = {"x": x, "y": y, "sample_weight": weights}
    if any(isinstance(a, Nest) for a in named.values()):
        _structure.check_rows({f"{name} of {label}": a for name, a in named.items()})
    rows = {name: int(a.shape[0]) for name, a in named.items() if a is not None}
    if len(set(rows.values())) > 1:
        shapes = ", ".join(f"{name}.shape={tuple(named[name].shape)}" for name in rows)
        raise ValueError(
            f"{label}: x, y and sample_weight must have the same number of rows. Received: {shapes}"
        )
    if rows["x"] == 0:
        raise ValueError(f"{label} is empty. Received: x.shape={tuple(x.shape)}")
