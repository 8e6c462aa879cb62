"""Looking optimizers up by id or config, and writing them back out."""

from __future__ import annotations

from typing import Any

from gpukeras.optimizers._adafactor import Adafactor
from gpukeras.optimizers._adagrad import Adadelta, Adagrad
from gpukeras.optimizers._adam import Adam, Adamax, AdamW, Nadam
from gpukeras.optimizers._base import Optimizer
from gpukeras.optimizers._ftrl import Ftrl
from gpukeras.optimizers._lamb import Lamb
from gpukeras.optimizers._lion import Lion
from gpukeras.optimizers._muon import Muon
from gpukeras.optimizers._rmsprop import RMSprop
from gpukeras.optimizers._schedule_free_adamw import ScheduleFreeAdamW
from gpukeras.optimizers._sgd import SGD

_CLASSES = (
    SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam,
    Ftrl, Lion, Lamb, Adafactor, Muon, ScheduleFreeAdamW,
)  # fmt: skip
_BY_ID: dict[str, type[Optimizer]] = {cls.__name__.lower(): cls for cls in _CLASSES}


def _known() -> str:
    return ", ".join(repr(name) for name in sorted(_BY_ID))


def _class_for(name: Any) -> type[Optimizer]:
    cls = _BY_ID.get(str(name).lower()) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown optimizer: {name!r}. Expected one of: {_known()}. "
            f"Received: optimizer={name!r}"
        )
    return cls


def serialize(optimizer: Any) -> dict[str, Any]:
    """Keras 3's dict form: ``{'module', 'class_name', 'config', 'registered_name'}`` (of an
    optimizer, or of an ``OptimizerMap``)."""
    return {
        "module": "keras.optimizers",
        "class_name": type(optimizer).__name__,
        "config": optimizer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any]) -> Any:
    """An optimizer from ``{'class_name': ..., 'config': {...}}`` (class name in any case;
    ``'LossScaleOptimizer'`` with its ``inner_optimizer`` config and ``'MultiOptimizer'`` with
    its ``optimizer_map`` config too), or an ``OptimizerMap`` from its own dict."""
    if "class_name" not in config:
        raise ValueError(
            "An optimizer config needs a 'class_name' key (and optionally 'config'). "
            f"Received: optimizer={config!r}"
        )
    return _config_class_for(config["class_name"]).from_config(dict(config.get("config") or {}))


def _config_class_for(name: Any) -> type[Optimizer]:
    """:func:`_class_for`, plus the LossScaleOptimizer wrapper (found in configs only: it
    cannot be made from an id without the optimizer it wraps)."""
    if isinstance(name, str) and name.lower() == "lossscaleoptimizer":
        # Imported here: gpukeras.mixed_precision imports this package.
        from gpukeras.mixed_precision._loss_scale_optimizer import LossScaleOptimizer

        return LossScaleOptimizer
    if isinstance(name, str) and name.lower() == "multioptimizer":
        from gpukeras.optimizers._multi_optimizer import MultiOptimizer

        return MultiOptimizer
    if isinstance(name, str) and name.lower() == "optimizermap":
        from gpukeras.optimizers._optimizer_map import OptimizerMap

        return OptimizerMap
    return _class_for(name)


def get(identifier: Any) -> Optimizer | None:
    """An optimizer from an id string, a config dict or an instance (returned as is).

    ``None`` gives ``None``, as in Keras.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _class_for(identifier)()
    if isinstance(identifier, dict):
        optimizer = deserialize(identifier)
        if not isinstance(optimizer, Optimizer):
            raise ValueError(
                "Could not interpret optimizer identifier: the config describes a "
                f"{type(optimizer).__name__}, not an optimizer. Received: optimizer={identifier!r}"
            )
        return optimizer
    raise ValueError(
        f"Could not interpret optimizer identifier: expected a string ({_known()}), a config "
        f"dict or an Optimizer instance. Received: optimizer={identifier!r}"
    )
