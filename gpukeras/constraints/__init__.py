"""Weight constraints (Keras 3's ``keras.constraints``).

A layer's ``kernel_constraint=`` (``bias_constraint=``, ...) or ``add_weight(constraint=)``
sets ``variable.constraint``; after each update the optimizer does, as Keras does,
``variable.assign(variable.constraint(variable))``. Any callable taking and returning an
array works as a constraint; ``get`` accepts names, Keras config dicts and instances.
"""

from __future__ import annotations

from typing import Any

from gpukeras.constraints._constraints import Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm

# Keras's lower-case aliases are the classes themselves.
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "deserialize",
    "get",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "serialize",
    "unit_norm",
]

_CLASSES: dict[str, type[Constraint]] = {
    cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
}
_ALIASES = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg,
            "unit_norm": UnitNorm}  # fmt: skip


def _known() -> str:
    return ", ".join(repr(name) for name in sorted([*_CLASSES, *_ALIASES]))


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    """Keras 3's dict form: ``{'module', 'class_name', 'config', 'registered_name'}``."""
    if constraint is None:
        return None
    if not isinstance(constraint, Constraint) or type(constraint).__name__ not in _CLASSES:
        raise ValueError(
            "Cannot serialize constraint: expected a gpukeras.constraints class instance. "
            f"Received: constraint={constraint!r}"
        )
    return {
        "module": "keras.constraints",
        "class_name": type(constraint).__name__,
        "config": constraint.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any] | str) -> Constraint:
    """A constraint from a name (``'non_neg'``, ``'MaxNorm'``) or a Keras config dict."""
    name = config.get("class_name") if isinstance(config, dict) else config
    cls = _CLASSES.get(name) or _ALIASES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown constraint: {name!r}. Expected one of: {_known()}. "
            f"Received: constraint={config!r}"
        )
    arguments = dict(config.get("config") or {}) if isinstance(config, dict) else {}
    try:
        return cls.from_config(arguments)
    except TypeError as error:
        raise ValueError(
            f"Invalid config for constraint {name!r}: {error}. Received: config={arguments!r}"
        ) from None


def get(identifier: Any) -> Any:
    """None, a name, a config dict, a Constraint (class or instance) or any callable."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        "Could not interpret constraint: expected None, a name such as 'non_neg', a config "
        f"dict or a callable. Received: constraint={identifier!r}"
    )
