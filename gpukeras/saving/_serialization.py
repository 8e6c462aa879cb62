"""``serialize_keras_object`` / ``deserialize_keras_object``: Keras 3's dict form for one object.

The dict is ``{'module', 'class_name', 'config', 'registered_name'}``, as each family's own
``serialize`` writes it. Deserializing looks the class up among the caller's custom objects,
then in the gpukeras family the ``module`` names (``keras.optimizers`` -> gpukeras.optimizers);
nothing is imported by name from the dict, so a config cannot reach arbitrary code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpukeras import _custom_objects

_PLAIN = (type(None), bool, int, float, str)


def _families() -> list[tuple[str, type, Callable, Callable]]:
    """(Keras module, base class, serialize, deserialize), most specific module first."""
    from gpukeras import initializers, layers, losses, metrics, optimizers, regularizers
    from gpukeras.layers import _serialization as layer_configs
    from gpukeras.optimizers import schedules

    return [
        ("keras.optimizers.schedules", schedules.LearningRateSchedule, schedules.serialize,
         schedules.deserialize),
        ("keras.optimizers", optimizers.Optimizer, optimizers.serialize, optimizers.deserialize),
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
    for family, base, serialize, _ in _families():
        if isinstance(obj, base) and type(obj).__module__.startswith("gpukeras."):
            return {"module": family, **serialize(obj)}
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
