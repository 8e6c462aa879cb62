"""Preparing what ``fit``, ``evaluate`` and ``predict`` read: arrays checked and placed on
the device (a :class:`Dataset`) or a Sequence/iterator of batches (a ``BatchStream``), and
the compiled step for them.

Arrays may be one per argument or, for a model with several inputs or outputs, a list or
dict of them (see ``_multi_data``): then every array is checked, the rows of all of them
must agree, and the step is a ``MultiOutputStep`` when the model has several outputs.
"""

from __future__ import annotations

from typing import Any

from gpukeras import backend as K
from gpukeras import metrics as metrics_module
from gpukeras.models import _batches, _data, _multi_data, _structure
from gpukeras.models._batches import BatchStream
from gpukeras.models._compile_outputs import is_sparse
from gpukeras.models._data import Dataset
from gpukeras.models._step import Step
from gpukeras.models._tape_step import make_step


class TrainingData:
    """The data side of :class:`gpukeras.models.Trainer` (mixed in with it)."""

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
        weights = _multi_data.sample_weights(y, sample_weight, class_weight, "sample_weight")
        if _batches.is_batch_stream(validation_data):
            train = self._dataset(x, y, weights, "x", "y")
            return train, self._stream(validation_data, "validation_data")
        if validation_data is not None:
            val_x, val_y, val_w = _data.unpack_validation_data(validation_data)
            held = self._dataset(
                val_x,
                val_y,
                _multi_data.sample_weights(val_y, val_w, None, "validation_data[2]"),
                "validation_data[0]",
                "validation_data[1]",
            )
            return self._dataset(x, y, weights, "x", "y"), held
        x = _multi_data.convert(x, "x", _data.host_or_device_array)
        y = _multi_data.convert(y, "y", _data.host_or_device_array)
        _multi_data.check_rows("fit", {"x": x, "y": y, "sample_weight": weights})
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
            _multi_data.sample_weights(val_y, val_w, None, "validation_data[2]"),
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
            self, not predicting, is_sparse(getattr(self, "loss", None)), class_weight
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
        x = _multi_data.inputs(x, x_name)
        if y_name is not None and y is None:
            raise ValueError(f"`{y_name}` is required. Received: {y_name}=None")
        y = None if y is None else _multi_data.targets(y, y_name or "y")
        sample_name = "sample_weight" if x_name == "x" else "validation_data[2]"
        _multi_data.check_rows("data", {x_name: x, (y_name or "y"): y, sample_name: weights})
        if not allow_empty:  # fit, evaluate and predict refuse empty data, as Keras does
            _data.check_not_empty(x, x_name)
        x = _multi_data.built_for(self, x, x_name)
        _multi_data.check_inputs(x, self, x_name)
        if _multi_data.is_multi_output(self):
            weights = _multi_data.by_output(self, weights, sample_name, required=False)
            if y is not None:
                y = _multi_data.by_output(self, y, y_name or "y", required=True)
                y = _multi_data.check_targets(self, y, is_sparse)
        elif y is not None:
            y = _multi_data.single_target(self, y)
            shape = _multi_data.single_output_shape(self)
            y = _data.check_targets(y, shape, is_sparse(self.loss), y_name)
        nbytes = sum(int(a.nbytes) for a in (x, y, weights) if a is not None)
        on_device = K.device_can_hold(nbytes)
        if on_device:
            x, y, weights = (_structure.to_device(a) for a in (x, y, weights))
        return Dataset(x, y, weights, on_device, (x_name, y_name or "y", sample_name))

    def _compiled_step(self, data: Dataset) -> Step:
        if self._step is None and _multi_data.is_multi_output(self):
            self._step = _multi_data.multi_output_step(self, data)
        if self._step is None:
            y_probe = data.y[:1]
            if not data.on_device:
                y_probe = K.to_device(y_probe)
            xp = K.array_module()
            shape = _multi_data.single_output_shape(self)
            out_probe = xp.zeros((1, *shape[1:]), dtype=K.floatx())

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
        return self._step


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__
