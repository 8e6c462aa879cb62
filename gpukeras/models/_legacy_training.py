"""Keras 0.x/1.x training calls on a model: ``show_accuracy``, the ``*_generator``
methods, ``samples_per_epoch``/``nb_val_samples``, ``predict_classes``/``predict_proba``.

Each is translated to the current call with one DeprecationWarning at the user's line.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy

from gpukeras._legacy import warn_user
from gpukeras.utils._sequence import Sequence

# Keras 1's reader-process arguments: gpukeras reads batches in the training process.
_IGNORED_READER_ARGUMENTS = (
    "nb_worker",
    "workers",
    "max_q_size",
    "max_queue_size",
    "pickle_safe",
    "use_multiprocessing",
)
_LEGACY_ACCURACY = "acc"


class LegacyTraining:
    """Mixed into ``Model`` ahead of ``Trainer`` (see the module doc)."""

    _legacy_accuracy: bool = False

    def fit(self, *args: Any, show_accuracy: Any = None, **kwargs: Any) -> Any:
        self._show_accuracy("fit", show_accuracy)
        return super().fit(*args, **kwargs)

    def _without_legacy_accuracy(self, result: Any, show_accuracy: Any) -> Any:
        """``evaluate``'s result without the accuracy an earlier ``show_accuracy=True``
        added, when this call did not ask for it (Keras 0.x returned the loss alone)."""
        if self._legacy_accuracy and not show_accuracy and isinstance(result, list):
            result = result[:-1]
            return result[0] if len(result) == 1 else result
        return result

    def fit_generator(
        self,
        generator: Any,
        steps_per_epoch: int | None = None,
        epochs: int = 1,
        *,
        samples_per_epoch: int | None = None,
        validation_data: Any = None,
        validation_steps: int | None = None,
        nb_val_samples: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Keras 1/2's ``fit_generator``: ``fit`` on the generator (Keras 1's sample
        counts become steps, from the size of the generator's first batch)."""
        warn_user("`fit_generator` is deprecated; call `fit` with the generator instead.")
        _drop_reader_arguments("fit_generator", kwargs)
        if samples_per_epoch is not None:
            _warn_renamed("fit_generator", "samples_per_epoch", "steps_per_epoch")
            generator, steps_per_epoch = _steps_from_samples(generator, samples_per_epoch)
        if nb_val_samples is not None:
            _warn_renamed("fit_generator", "nb_val_samples", "validation_steps")
            if _is_generator(validation_data):
                validation_data, validation_steps = _steps_from_samples(
                    validation_data, nb_val_samples
                )
        if "nb_epoch" in kwargs:
            _warn_renamed("fit_generator", "nb_epoch", "epochs")
            epochs = kwargs.pop("nb_epoch")
        return self.fit(
            generator,
            steps_per_epoch=steps_per_epoch,
            epochs=epochs,
            validation_data=validation_data,
            validation_steps=validation_steps,
            **kwargs,
        )

    def evaluate_generator(
        self, generator: Any, steps: int | None = None, *, val_samples: int | None = None,
        **kwargs: Any,
    ) -> Any:  # fmt: skip
        """Keras 1/2's ``evaluate_generator``: ``evaluate`` on the generator."""
        warn_user("`evaluate_generator` is deprecated; call `evaluate` with the generator.")
        _drop_reader_arguments("evaluate_generator", kwargs)
        if val_samples is not None:
            _warn_renamed("evaluate_generator", "val_samples", "steps")
            generator, steps = _steps_from_samples(generator, val_samples)
        return self.evaluate(generator, steps=steps, **kwargs)

    def predict_generator(
        self, generator: Any, steps: int | None = None, *, val_samples: int | None = None,
        **kwargs: Any,
    ) -> Any:  # fmt: skip
        """Keras 1/2's ``predict_generator``: ``predict`` on the generator."""
        warn_user("`predict_generator` is deprecated; call `predict` with the generator.")
        _drop_reader_arguments("predict_generator", kwargs)
        if val_samples is not None:
            _warn_renamed("predict_generator", "val_samples", "steps")
            generator, steps = _steps_from_samples(generator, val_samples)
        return self.predict(generator, steps=steps, **kwargs)

    def predict_classes(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> numpy.ndarray:
        """Keras 1/2's class indices: the argmax of ``predict``, or ``p > 0.5`` for one
        output column."""
        warn_user(
            "`predict_classes` is deprecated; use `np.argmax(model.predict(x), axis=-1)` "
            "(or `(model.predict(x) > 0.5).astype('int32')` for a sigmoid output)."
        )
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.shape[-1] > 1:
            return probabilities.argmax(axis=-1)
        return (probabilities > 0.5).astype("int32")

    def predict_proba(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> numpy.ndarray:
        """Keras 1/2's ``predict_proba``: ``predict`` (the model's outputs)."""
        warn_user("`predict_proba` is deprecated; use `model.predict(x)`.")
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    def _show_accuracy(self, method: str, show_accuracy: Any) -> None:
        """Keras 0.x's ``show_accuracy=True``: add accuracy to the compiled metrics."""
        if show_accuracy is None:
            return
        warn_user(
            f"{method}: the argument `show_accuracy` is deprecated; pass "
            "`metrics=['accuracy']` to `compile` instead. "
            f"Received: show_accuracy={show_accuracy!r}"
        )
        if not show_accuracy or self._legacy_accuracy:
            return
        if not getattr(self, "compiled", False):
            return  # fit/evaluate give their own "not compiled" error
        if any(m in ("acc", "accuracy") for m in self._metric_ids):
            return
        self._metric_ids = [*self._metric_ids, _LEGACY_ACCURACY]
        self._legacy_accuracy = True
        self._step = None  # rebuilt with the accuracy metric on the next batch


def legacy_compile_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``compile``'s keywords without Keras 0.x's ``class_mode`` (the loss decides now)."""
    if "class_mode" in kwargs:
        kwargs = dict(kwargs)
        value = kwargs.pop("class_mode")
        warn_user(
            "compile: the argument `class_mode` is deprecated and has no effect (the loss "
            f"and the metrics decide). Received: class_mode={value!r}"
        )
    return kwargs


def _warn_renamed(method: str, old: str, new: str) -> None:
    warn_user(f"{method}: the argument `{old}` is deprecated; use `{new}` instead.")


def _drop_reader_arguments(method: str, kwargs: dict[str, Any]) -> None:
    for name in _IGNORED_READER_ARGUMENTS:
        if name in kwargs:
            value = kwargs.pop(name)
            warn_user(
                f"{method}: the argument `{name}` has no effect in gpukeras (batches are "
                f"read in the training process). Received: {name}={value!r}"
            )


def _is_generator(value: Any) -> bool:
    return hasattr(value, "__next__")


def _steps_from_samples(generator: Any, samples: Any) -> tuple[Any, int]:
    """Keras 1 counted samples per epoch; gpukeras counts batches. The first batch's
    length turns one into the other, and is put back in front of the stream."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"A sample count must be a positive int. Received: {samples!r}")
    if not _is_generator(generator) and not isinstance(generator, Sequence):
        raise TypeError(
            "A sample count (samples_per_epoch, nb_val_samples, val_samples) needs a "
            f"generator. Received: {type(generator).__name__}"
        )
    # A Sequence (ImageDataGenerator.flow) is read by index, so its first batch is
    # looked at, not taken out of the stream.
    is_sequence = isinstance(generator, Sequence)
    first = generator[0] if is_sequence else next(generator)
    inputs = first[0] if isinstance(first, tuple) else first
    size = len(inputs)
    if size < 1:
        raise ValueError("The generator's first batch is empty; it cannot count samples.")
    source = generator if is_sequence else itertools.chain([first], generator)
    return source, math.ceil(samples / size)
