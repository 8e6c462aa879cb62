"""Compile settings in and out: Keras 3's ``compile_config`` and legacy ``training_config``."""

from __future__ import annotations

from typing import Any

from gpukeras import losses, optimizers
from gpukeras._custom_objects import get_registered_name
from gpukeras.mixed_precision import LossScaleOptimizer
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._layer_entries import plain

_OPTIMIZER_EXTRAS = ("is_legacy_optimizer", "jit_compile")


def compile_config(model: Any) -> dict[str, Any] | None:
    """Keras 3's ``compile_config`` (optimizer as a serialized dict), None if not compiled."""
    get_compile_config = getattr(model, "get_compile_config", None)
    optimizer = getattr(model, "optimizer", None)
    if not callable(get_compile_config) or optimizer is None:
        return None
    config = dict(get_compile_config() or {})
    loss = config.get("loss")
    if loss is None and isinstance(getattr(model, "loss", None), losses.LossFunctionWrapper):
        # A user's function is saved by name, never as code; load_model finds it again in
        # custom_objects (or leaves the model uncompiled, with a warning).
        loss = get_registered_name(model.loss.fn) if hasattr(model.loss.fn, "__name__") else None
    elif loss is None and getattr(model, "loss", None) is not None:
        loss = {**losses.serialize(model.loss), "module": "keras.losses", "registered_name": None}
    return {
        "optimizer": optimizers.serialize(optimizer),
        "loss": loss,
        "loss_weights": config.get("loss_weights"),
        "metrics": config.get("metrics") or None,
        "weighted_metrics": config.get("weighted_metrics") or None,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def training_config(model: Any) -> dict[str, Any] | None:
    """Keras's legacy ``training_config``: the optimizer as ``optimizer_config``."""
    config = compile_config(model)
    if config is None:
        return None
    optimizer = config.pop("optimizer")
    config["optimizer_config"] = {
        "class_name": optimizer["class_name"],
        "config": optimizer["config"],
    }
    return config


# -- compiling from a file's config ------------------------------------------------------
def _single_output(value: Any) -> Any:
    """Keras 2 stored per-output lists/dicts; a Sequential has one output."""
    if isinstance(value, dict) and "class_name" not in value and len(value) == 1:
        return next(iter(value.values()))
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        return value[0]
    return value


def _optimizer(config: Any) -> Any:
    if isinstance(config, dict):
        return optimizers.deserialize(_without_extras(config))
    return optimizers.get(config)


def _without_extras(config: dict[str, Any]) -> dict[str, Any]:
    """An optimizer config without Keras's keys gpukeras does not take (a
    LossScaleOptimizer's inner optimizer too)."""
    arguments = dict(config.get("config") or {})
    for key in _OPTIMIZER_EXTRAS:
        arguments.pop(key, None)
    inner = arguments.get("inner_optimizer")
    if isinstance(inner, dict):
        arguments["inner_optimizer"] = _without_extras(inner)
    return {"class_name": config.get("class_name"), "config": arguments}


def loss_scaled(optimizer: Any) -> Any:
    """``optimizer`` in the LossScaleOptimizer Keras's ``compile`` wraps it in under
    mixed_float16 (a ``.keras`` file names the optimizer given to ``compile``, while its
    state is the wrapper's)."""
    if isinstance(optimizer, LossScaleOptimizer):
        return optimizer
    return LossScaleOptimizer(optimizer, name="loss_scale_optimizer")


def compile_arguments(config: Any, legacy: bool, custom: dict[str, Any]) -> dict[str, Any]:
    """``compile`` keyword arguments from a ``training_config`` or ``compile_config``."""
    if not isinstance(config, dict):
        raise FileFormatError(f"The compile config must be a dict. Received: {config!r:.200}")
    config = plain(config)
    optimizer = config.get("optimizer_config" if legacy else "optimizer")
    if isinstance(optimizer, dict) and optimizer.get("class_name") in custom:
        optimizer = custom[optimizer["class_name"]].from_config(optimizer.get("config") or {})
    arguments: dict[str, Any] = {
        "optimizer": _optimizer(optimizer) if optimizer is not None else "rmsprop",
        "loss": _custom_or(_single_output(config.get("loss")), custom),
        "metrics": _single_output(config.get("metrics")),
        "loss_weights": config.get("loss_weights"),
    }
    if config.get("weighted_metrics") is not None:
        arguments["weighted_metrics"] = _single_output(config["weighted_metrics"])
    return arguments


def _custom_or(value: Any, custom: dict[str, Any]) -> Any:
    if isinstance(value, str) and value in custom:
        return custom[value]
    if isinstance(value, dict) and value.get("class_name") in custom:
        return custom[value["class_name"]].from_config(value.get("config") or {})
    return value
