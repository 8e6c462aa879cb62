"""Looking losses up by name, class, instance, config dict or function."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy

from gpukeras.losses import _hinge, _probabilistic, _regression
from gpukeras.losses._loss import Loss, LossFunctionWrapper

__all__ = ["deserialize", "get", "is_binary_or_sparse_categorical", "serialize"]

_MODULES = (_probabilistic, _regression, _hinge)

LOSS_CLASSES: dict[str, type[Loss]] = {
    name: getattr(module, name)
    for module in _MODULES
    for name in module.__all__
    if inspect.isclass(getattr(module, name))
}
LOSS_CLASSES["LossFunctionWrapper"] = LossFunctionWrapper

# Function names (and Keras's legacy aliases) -> the class computing the same values.
_FUNCTION_CLASSES: dict[str, type[Loss]] = {
    "categorical_crossentropy": _probabilistic.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": _probabilistic.SparseCategoricalCrossentropy,
    "binary_crossentropy": _probabilistic.BinaryCrossentropy,
    "kl_divergence": _probabilistic.KLDivergence,
    "poisson": _probabilistic.Poisson,
    "mean_squared_error": _regression.MeanSquaredError,
    "mean_absolute_error": _regression.MeanAbsoluteError,
    "mean_absolute_percentage_error": _regression.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": _regression.MeanSquaredLogarithmicError,
    "cosine_similarity": _regression.CosineSimilarity,
    "huber": _regression.Huber,
    "log_cosh": _regression.LogCosh,
    "hinge": _hinge.Hinge,
    "squared_hinge": _hinge.SquaredHinge,
    "categorical_hinge": _hinge.CategoricalHinge,
}
_ALIASES = {
    "bce": "binary_crossentropy",
    "BCE": "binary_crossentropy",
    "mse": "mean_squared_error",
    "MSE": "mean_squared_error",
    "mae": "mean_absolute_error",
    "MAE": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "MAPE": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "MSLE": "mean_squared_logarithmic_error",
    "kld": "kl_divergence",
    "KLD": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "logcosh": "log_cosh",
}
# Resolved from the shapes of the targets and predictions (Keras's compile_utils).
_AUTO_CROSSENTROPY = ("crossentropy", "ce")


def known_loss_names() -> list[str]:
    """Every string :func:`get` accepts."""
    names = list(_FUNCTION_CLASSES) + list(_ALIASES) + list(_AUTO_CROSSENTROPY)
    return sorted(names) + sorted(LOSS_CLASSES)


def is_binary_or_sparse_categorical(y_true: Any, y_pred: Any) -> tuple[bool, bool]:
    """Keras 3's guess from shapes: (one output unit, integer-label targets).

    Binary when ``y_pred``'s last axis is 1; sparse when ``y_true`` has a lower rank,
    or a last axis of 1 while ``y_pred``'s is wider.
    """
    true_shape, pred_shape = _shape(y_true), _shape(y_pred)
    true_last = true_shape[-1] if true_shape else 1
    pred_last = pred_shape[-1] if pred_shape else 1
    is_binary = pred_last == 1
    is_sparse = len(true_shape) < len(pred_shape) or (true_last == 1 and pred_last > 1)
    return is_binary, is_sparse


def _shape(x: Any) -> tuple[int, ...]:
    """The shape of an array, or ``x`` itself when it is a tuple (already a shape)."""
    if isinstance(x, tuple):
        return x
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else numpy.shape(x)


def _auto_crossentropy(identifier: str, y_true: Any, y_pred: Any) -> Loss:
    if y_true is None or y_pred is None:
        raise ValueError(
            f"loss={identifier!r} picks binary, sparse or categorical crossentropy from the "
            "shapes of the targets and predictions: pass y_true and y_pred (arrays or "
            f"shapes). Received: loss={identifier!r}"
        )
    is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
    if is_binary:
        return _probabilistic.BinaryCrossentropy(name=identifier)
    if is_sparse:
        return _probabilistic.SparseCategoricalCrossentropy(name=identifier)
    return _probabilistic.CategoricalCrossentropy(name=identifier)


def _from_string(identifier: str, y_true: Any, y_pred: Any) -> Loss:
    if identifier.lower() in _AUTO_CROSSENTROPY:
        return _auto_crossentropy(identifier, y_true, y_pred)
    if identifier in LOSS_CLASSES and identifier != "LossFunctionWrapper":
        return LOSS_CLASSES[identifier]()
    function_name = _ALIASES.get(identifier, identifier)
    if function_name in _FUNCTION_CLASSES:
        # As Keras's compile does for function names, the loss is named as spelled.
        return _FUNCTION_CLASSES[function_name](name=identifier)
    expected = ", ".join(repr(name) for name in known_loss_names())
    raise ValueError(
        f"Unknown loss: {identifier!r}. Expected one of: {expected}. Received: loss={identifier!r}"
    )


_FUNCTION_NAMES: dict[Callable[..., Any], str] = {
    getattr(module, name): name
    for module in _MODULES
    for name in module.__all__
    if name in _FUNCTION_CLASSES
}


def _from_function(function: Callable[..., Any]) -> Loss:
    name = _FUNCTION_NAMES.get(function)
    if name is None:
        return LossFunctionWrapper(function)
    return _FUNCTION_CLASSES[name](name=name)


def get(identifier: Any, y_true: Any = None, y_pred: Any = None) -> Loss | None:
    """The :class:`Loss` for ``identifier``.

    Args:
        identifier: ``None`` (returns ``None``); a name: a function name or Keras alias
            (``'mse'``, ``'kld'``, ``'logcosh'``, ...; the loss is named as spelled), a
            class name (``'MeanSquaredError'``), or ``'crossentropy'``/``'ce'``; a
            :class:`Loss` instance (returned as is) or class (instantiated); a config
            dict ``{'class_name': ..., 'config': {...}}``; or a callable
            ``fn(y_true, y_pred)``, wrapped in :class:`LossFunctionWrapper` (no gradient
            unless ``fn.per_sample_grad`` exists: training raises TypeError).
        y_true: targets (or their shape), default ``None``; only ``'crossentropy'``
            needs them.
        y_pred: predictions (or their shape), default ``None``; as ``y_true``.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        return _from_string(identifier, y_true, y_pred)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return _from_function(identifier)
    raise TypeError(
        "Could not interpret loss identifier: expected a name, a Loss, a config dict or a "
        f"callable fn(y_true, y_pred). Received: loss={identifier!r}"
    )


def serialize(loss: Loss) -> dict[str, Any]:
    """``{'class_name': ..., 'config': loss.get_config()}``."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict[str, Any]) -> Loss:
    """Rebuild a loss from :func:`serialize` output (built-in classes only)."""
    class_name = config.get("class_name") if isinstance(config, dict) else None
    cls = LOSS_CLASSES.get(class_name) if isinstance(class_name, str) else None
    if cls is None or cls is LossFunctionWrapper:
        names = sorted(name for name in LOSS_CLASSES if name != "LossFunctionWrapper")
        expected = ", ".join(repr(name) for name in names)
        raise ValueError(
            f"Unknown loss config: 'class_name' must be one of: {expected}. "
            f"Received: loss={config!r}"
        )
    return cls.from_config(dict(config.get("config") or {}))
