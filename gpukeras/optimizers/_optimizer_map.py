"""OptimizerMap: which optimizer trains which variable, by variable path (Keras 3.15)."""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from typing import Any

from gpukeras.optimizers._base import Optimizer


def _is_loss_scale_optimizer(optimizer: Any) -> bool:
    # Imported here: gpukeras.mixed_precision imports this package.
    from gpukeras.mixed_precision._loss_scale_optimizer import LossScaleOptimizer

    return isinstance(optimizer, LossScaleOptimizer)


def check_nestable(optimizer: Any, where: str) -> None:
    """Refuse what cannot train part of a ``MultiOptimizer``: non-optimizers, loss-scale
    wrappers and other ``MultiOptimizer``s (Keras's messages; ``where`` says which check)."""
    from gpukeras.optimizers._multi_optimizer import MultiOptimizer

    if not isinstance(optimizer, Optimizer):
        raise ValueError(
            f"optimizer must be a Keras Optimizer instance. Received: optimizer={optimizer!r}"
        )
    if _is_loss_scale_optimizer(optimizer):
        raise ValueError(
            "optimizer cannot be LossScaleOptimizer."
            if where == "map"
            else "LossScaleOptimizer cannot be used inside an MultiOptimizer."
        )
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(
            "optimizer cannot be MultiOptimizer."
            if where == "map"
            else "MultiOptimizer cannot be used inside an MultiOptimizer."
        )


class OptimizerMap(MutableMapping):
    """A mapping from variable paths to optimizers, with a default for unmapped variables.

    ``optimizer_map[path]`` is the optimizer stored under exactly ``path``, else the one whose
    key, read as a regular expression, ``re.fullmatch``es ``path`` (two matches are an error),
    else ``default_optimizer``. Calling the map on a variable looks up ``variable.path``.

    Args:
        default_optimizer: the optimizer of every variable no key matches.
        optimizer_map: default None; a dict ``{path or regular expression: optimizer}``.
    """

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict | None = None) -> None:
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                "default_optimizer must be a Keras Optimizer instance. "
                f"Received: default_optimizer={default_optimizer!r}"
            )
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(
                f"optimizer_map must be a dictionary. Received: optimizer_map={optimizer_map!r}"
            )
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Multiple optimizers assigned to variable {key}. Received: patterns {matches} "
                "all match it"
            )
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if key in self._optimizer_map:
            raise ValueError(
                f"'{key}' already exists in the OptimizerMap with value "
                f"{self._optimizer_map[key]}. Please make sure to not use duplicated keys."
            )
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: key={key!r}")
        try:
            re.compile(key)
        except re.error as error:
            raise ValueError(
                f"key must be a variable path or a regular expression ({error}). "
                f"Received: key={key!r}"
            ) from None
        check_nestable(optimizer, "map")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._optimizer_map)

    def __call__(self, variable: Any) -> Optimizer:
        return self[variable.path]

    def get_config(self) -> dict[str, Any]:
        from gpukeras.optimizers._get import serialize

        return {
            "default_optimizer": serialize(self._default_optimizer),
            "optimizer_map": {key: serialize(opt) for key, opt in self._optimizer_map.items()},
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> OptimizerMap:
        from gpukeras.optimizers._get import deserialize

        if not isinstance(config, dict) or "default_optimizer" not in config:
            raise ValueError(
                "An OptimizerMap config needs a 'default_optimizer' entry. "
                f"Received: config={config!r}"
            )
        entries = config.get("optimizer_map") or {}
        if not isinstance(entries, dict):
            raise ValueError(
                f"An OptimizerMap's 'optimizer_map' must be a dict. Received: {entries!r}"
            )
        return cls(
            deserialize(config["default_optimizer"]),
            {key: deserialize(value) for key, value in entries.items()},
        )
