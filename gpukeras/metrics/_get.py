"""Resolving compile-time metric identifiers, as Keras 3's compile_utils does."""

from __future__ import annotations

import inspect
from typing import Any

from gpukeras import losses
from gpukeras.losses._get import known_loss_names
from gpukeras.losses._loss import to_snake_case
from gpukeras.metrics import (
    _accuracy,
    _auc,
    _confusion,
    _correlation,
    _f_score,
    _iou,
    _loss_metrics,
    _regression,
    _sensitivity,
)
from gpukeras.metrics._metric import Mean, MeanMetricWrapper, Metric

__all__ = ["deserialize", "get", "savable_ids", "serialize"]

METRIC_CLASSES: dict[str, type[Metric]] = {
    name: getattr(module, name)
    for module in (
        _accuracy,
        _loss_metrics,
        _confusion,
        _auc,
        _f_score,
        _iou,
        _sensitivity,
        _regression,
        _correlation,
    )
    for name in module.__all__
    if inspect.isclass(getattr(module, name))
}
METRIC_CLASSES.update(Mean=Mean, MeanMetricWrapper=MeanMetricWrapper)

# Names a string may use: class names, their snake_case, and Keras's short aliases.
_BY_NAME: dict[str, type[Metric]] = {
    **{name: cls for name, cls in METRIC_CLASSES.items() if cls is not MeanMetricWrapper},
    **{to_snake_case(name): cls for name, cls in METRIC_CLASSES.items()},
}
del _BY_NAME["mean_metric_wrapper"]
for _alias, _target in {
    "mse": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "mape": "MeanAbsolutePercentageError",
    "msle": "MeanSquaredLogarithmicError",
    "bce": "BinaryCrossentropy",
}.items():
    _BY_NAME[_alias] = _BY_NAME[_alias.upper()] = METRIC_CLASSES[_target]

_ACCURACY_IDS = ("accuracy", "acc")
_CROSSENTROPY_IDS = ("crossentropy", "ce")
_METRIC_FUNCTIONS = {
    getattr(module, name) for module in (_accuracy, _correlation) for name in module.__all__
} - set(METRIC_CLASSES.values())


def known_metric_names() -> list[str]:
    """Every string :func:`get` accepts."""
    names = set(_BY_NAME) | set(_ACCURACY_IDS) | set(known_loss_names())
    return sorted(names, key=lambda name: (name[0].isupper(), name))


def _accuracy_class(loss: Any, y_true: Any, y_pred: Any) -> type[Metric]:
    """Binary, sparse categorical or categorical accuracy, as Keras 3 picks it.

    With both ``y_true`` and ``y_pred`` (arrays or shapes) the shapes decide. Without
    them, the loss decides as in Keras 2: binary for binary crossentropy (or one output
    unit), sparse for sparse categorical crossentropy, else categorical.
    """
    if y_true is not None and y_pred is not None:
        is_binary, is_sparse = losses.is_binary_or_sparse_categorical(y_true, y_pred)
    else:
        loss_obj = _loss_or_none(loss)
        is_sparse = isinstance(loss_obj, losses.SparseCategoricalCrossentropy)
        is_binary = isinstance(loss_obj, losses.BinaryCrossentropy) or (
            y_pred is not None and losses.is_binary_or_sparse_categorical(y_pred, y_pred)[0]
        )
    if is_binary:
        return _accuracy.BinaryAccuracy
    if is_sparse:
        return _accuracy.SparseCategoricalAccuracy
    return _accuracy.CategoricalAccuracy


def _loss_or_none(loss: Any) -> losses.Loss | None:
    try:
        return losses.get(loss)
    except (ValueError, TypeError):
        return None


def _wrap_loss(loss: losses.Loss, name: str) -> MeanMetricWrapper:
    return MeanMetricWrapper(loss.per_sample, name=name)


def _from_string(identifier: str, loss: Any, y_true: Any, y_pred: Any) -> Metric:
    if identifier.lower() in _ACCURACY_IDS:
        return _accuracy_class(loss, y_true, y_pred)(name=identifier)
    if identifier.lower() in _CROSSENTROPY_IDS:
        return _wrap_loss(losses.get(identifier, y_true=y_true, y_pred=y_pred), identifier)
    if identifier in _BY_NAME:
        return _BY_NAME[identifier](name=identifier)
    if identifier in known_loss_names():
        return _wrap_loss(losses.get(identifier), identifier)
    expected = ", ".join(repr(name) for name in known_metric_names())
    raise ValueError(
        f"Unknown metric: {identifier!r}. Expected one of: {expected}. "
        f"Received: metric={identifier!r}"
    )


def get(identifier: Any, loss: Any = None, y_true: Any = None, y_pred: Any = None) -> Metric:
    """The metric for a compile-time identifier; its ``name`` is the key the logs use.

    Args:
        identifier: a name (spelled names are kept: ``'acc'`` logs as ``acc``);
            ``'accuracy'``/``'acc'`` become binary, sparse categorical or categorical
            accuracy (see below); ``'crossentropy'``/``'ce'`` pick the crossentropy the
            same way; any loss name or alias is averaged per sample. A :class:`Metric`
            instance is returned as is (keeping its name); a Metric class is
            instantiated; a :class:`gpukeras.losses.Loss` instance is averaged per sample
            under its ``name``; a config dict ``{'class_name': ..., 'config': ...}``; a
            callable ``fn(y_true, y_pred)`` becomes a :class:`MeanMetricWrapper`.
        loss: the compiled loss (default ``None``); decides accuracy's kind when the
            shapes are not given.
        y_true: targets or their shape (default ``None``).
        y_pred: predictions or their shape (default ``None``). With ``y_true``, Keras 3's
            rule picks accuracy: binary if ``y_pred``'s last axis is 1, sparse if
            ``y_true`` has lower rank or a last axis of 1, else categorical.

    Every result but a user's own Metric is a :class:`MeanMetricWrapper` whose
    ``fn(y_true, y_pred)`` gives per-sample values, shape ``(N,)``.
    """
    if identifier is None:
        raise ValueError("Expected a metric identifier. Received: metric=None")
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        return _from_string(identifier, loss, y_true, y_pred)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if inspect.isclass(identifier) and issubclass(identifier, losses.Loss):
        identifier = identifier()
    if isinstance(identifier, losses.Loss):
        return _wrap_loss(identifier, identifier.name)
    if callable(identifier):
        if identifier in _METRIC_FUNCTIONS:
            return MeanMetricWrapper(identifier)
        loss_obj = losses.get(identifier)
        if isinstance(loss_obj, losses.LossFunctionWrapper):
            return MeanMetricWrapper(identifier)
        return _wrap_loss(loss_obj, loss_obj.name)
    raise TypeError(
        "Could not interpret metric identifier: expected a name, a Metric, a Loss, a config "
        f"dict or a callable fn(y_true, y_pred). Received: metric={identifier!r}"
    )


def serialize(metric: Metric) -> dict[str, Any]:
    """``{'class_name': ..., 'config': metric.get_config()}``."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: dict[str, Any]) -> Metric:
    """Rebuild a built-in metric from :func:`serialize` output."""
    class_name = config.get("class_name") if isinstance(config, dict) else None
    cls = METRIC_CLASSES.get(class_name) if isinstance(class_name, str) else None
    if cls is None or cls is MeanMetricWrapper:
        names = sorted(name for name in METRIC_CLASSES if name != "MeanMetricWrapper")
        raise ValueError(
            f"Unknown metric config: 'class_name' must be one of: "
            f"{', '.join(map(repr, names))}. Received: metric={config!r}"
        )
    return cls.from_config(dict(config.get("config") or {}))


def savable_ids(identifiers: list[Any]) -> list[Any]:
    """The compile-time metric ids a saved model's ``compile_config`` can hold: names as
    given, built-in Metric objects as Keras's dict (so ``load_model`` compiles them again).
    A user's function or Metric class is left out: only ``custom_objects`` could revive it."""
    saved: list[Any] = []
    for identifier in identifiers:
        cls = type(identifier)
        if isinstance(identifier, str):
            saved.append(identifier)
        elif METRIC_CLASSES.get(cls.__name__) is cls and cls is not MeanMetricWrapper:
            entry = {"module": "keras.metrics", **serialize(identifier), "registered_name": None}
            saved.append(entry)
    return saved
