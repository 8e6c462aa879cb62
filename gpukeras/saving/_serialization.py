"""``serialize_keras_object`` / ``deserialize_keras_object``: Keras 3's dict form for one object.

The dict is ``{'module', 'class_name', 'config', 'registered_name'}``, as each family's own
``serialize`` writes it. Deserializing looks the class up among the caller's custom objects,
then in the gpukeras family the ``module`` names (``keras.optimizers`` -> gpukeras.optimizers);
nothing is imported by name from the dict, so a config cannot reach arbitrary code.

Functions (a loss, metric or activation function) are written by name, as Keras writes them
(``{'module': 'builtins', 'class_name': 'function', 'config': name, ...}``), and found again by
that name among ``custom_objects`` and gpukeras's own functions; NumPy values become Python
numbers or Keras's ``{'class_name': '__numpy__', ...}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy

from gpukeras import _custom_objects

_PLAIN = (type(None), bool, int, float, str)


def _families() -> list[tuple[str, Any, Callable, Callable]]:
    """(Keras module, base class, serialize, deserialize), most specific module first."""
    from gpukeras import initializers, layers, losses, metrics, optimizers, regularizers
    from gpukeras.layers import _serialization as layer_configs
    from gpukeras.optimizers import schedules

    return [
        ("keras.optimizers.schedules", schedules.LearningRateSchedule, schedules.serialize,
         schedules.deserialize),
        ("keras.optimizers", (optimizers.Optimizer, optimizers.OptimizerMap), optimizers.serialize,
         optimizers.deserialize),
        ("keras.losses", losses.Loss, losses.serialize, losses.deserialize),
        ("keras.metrics", metrics.Metric, metrics.serialize, metrics.deserialize),
        ("keras.initializers", initializers.Initializer, initializers.serialize,
         initializers.deserialize),
        ("keras.regularizers", regularizers.Regularizer, regularizers.serialize,
         regularizers.deserialize),
        ("keras.layers", layers.Layer, layer_configs.serialize, layer_configs.deserialize),
    ]  # fmt: skip


def serialize_keras_object(obj: Any) -> Any:
    """``obj`` as Keras's config dict; plain values, lists and dicts of them pass through."""
    if isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, numpy.generic):
        return obj.item()
    if isinstance(obj, numpy.ndarray):
        return {
            "class_name": "__numpy__",
            "config": {"value": obj.tolist(), "dtype": str(obj.dtype)},
        }
    function_name = _function_name(obj)
    if function_name is not None:
        return {
            "module": "builtins",
            "class_name": "function",
            "config": function_name,
            "registered_name": "function",
        }
    for family, base, serialize, _ in _families():
        if isinstance(obj, base) and type(obj).__module__.startswith("gpukeras."):
            return {"module": family, **serialize(obj), "registered_name": None}
    if hasattr(obj, "get_config"):
        return {
            "module": type(obj).__module__,
            "class_name": type(obj).__name__,
            "config": obj.get_config(),
            "registered_name": type(obj).__name__,
        }
    raise TypeError(
        "serialize_keras_object needs a gpukeras object, an object with get_config() or plain "
        f"values. Received: obj={obj!r:.100}"
    )


def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """The object a :func:`serialize_keras_object` dict describes."""
    if isinstance(config, _PLAIN) or isinstance(config, list):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "deserialize_keras_object needs a dict with 'class_name' and 'config' keys. "
            f"Received: config={config!r:.200}"
        )
    custom = _custom_objects.with_current(custom_objects)
    if config["class_name"] == "__numpy__":
        return _numpy_array(config.get("config"))
    if config["class_name"] == "function":
        return _function(config.get("config"), custom)
    for name in (config.get("registered_name"), config["class_name"]):
        if isinstance(name, str) and name in custom:
            return custom[name].from_config(dict(config.get("config") or {}))
    module = config.get("module")
    for family, _, _, deserialize in _families():
        if isinstance(module, str) and (module == family or module.startswith(family + ".")):
            with _custom_objects.custom_object_scope(custom):
                return deserialize(config)
    raise ValueError(
        f"Unknown object in a config: class_name={config['class_name']!r}, module={module!r}. "
        "Pass your own classes as `custom_objects`."
    )


def _function_name(obj: Any) -> str | None:
    """The name a function is saved under (Keras writes functions by name), else None."""
    from gpukeras import activations

    if isinstance(obj, activations.ActivationFunction):
        # a built-in activation as registered; one bound to other parameter values keeps
        # its config (its name alone would lose them)
        try:
            return obj.name if activations.get(obj.name) is obj else None
        except (ValueError, TypeError):
            return None
    if callable(obj) and type(obj).__name__ in ("function", "builtin_function_or_method"):
        return getattr(obj, "__name__", None)
    return None


def _function(name: Any, custom: dict[str, Any]) -> Any:
    """The function saved as ``name``: a custom object, or a gpukeras loss, metric or
    activation function of that name (looked up, never imported by name)."""
    from gpukeras import activations, losses, metrics

    if isinstance(name, str):
        if name in custom:
            return custom[name]
        for module in (losses, metrics):
            found = getattr(module, name, None) if name in module.__all__ else None
            if callable(found) and not isinstance(found, type):
                return found
        try:
            return activations.get(name)
        except (ValueError, TypeError):
            pass
    raise ValueError(
        f"Unknown function in a config: {name!r}. Pass your own functions as `custom_objects`. "
        f"Received: config={name!r}"
    )


def _numpy_array(config: Any) -> numpy.ndarray:
    if not isinstance(config, dict) or "value" not in config:
        raise ValueError(
            f"A '__numpy__' config needs 'value' and 'dtype'. Received: {config!r:.200}"
        )
    try:
        dtype = numpy.dtype(config.get("dtype"))
        if dtype.kind not in "biufc":  # numbers only: no object arrays from a file
            raise TypeError(f"dtype {dtype} is not a number type")
        return numpy.array(config["value"], dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Bad '__numpy__' config: {error}. Received: {config!r:.200}") from None
