"""Layer entries of a config, made what gpukeras's layers take.

Keras 3's ``__tuple__`` wrappers and sharing ids are dropped (:func:`plain`); dtypes and
DTypePolicy dicts become dtype or policy names (quantized ones refused); Keras keys a
gpukeras layer does not take are dropped when they hold their "off" value and refused
otherwise; classes come from gpukeras's layer registry and the caller's objects only.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from typing import Any

import numpy

from gpukeras.layers import InputLayer, Layer
from gpukeras.layers import _serialization as layer_registry
from gpukeras.mixed_precision import Policy
from gpukeras.saving._errors import FileFormatError

_DTYPE_NAME = re.compile(r"[a-z]{3,8}[0-9]{0,3}")
# Keras 3 / Keras 2 config keys gpukeras's layers may not take, with the values that
# mean "feature off". Dropped when the layer's constructor has no such argument; any
# other value is refused with a message naming the key.
_HARMLESS_VALUES: dict[str, tuple[Any, ...]] = {
    "quantization_config": (None,),
    "lora_rank": (None, 0),
    "lora_alpha": (None,),
    "autocast": (True,),
    "ragged": (False,),
    "optional": (False,),
    "sparse": (False,),
    "activity_regularizer": (None,),
    "kernel_constraint": (None,),
    "bias_constraint": (None,),
}
_POLICY_CLASSES = ("DTypePolicy", "FloatDTypePolicy", "Policy")
_MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


# -- normalising what Keras 3 adds ----------------------------------------------------------
def plain(node: Any) -> Any:
    """The config with Keras 3's ``__tuple__`` wrappers unwrapped and sharing ids dropped."""
    if isinstance(node, dict):
        if node.get("class_name") == "__tuple__" and isinstance(node.get("config"), dict):
            return [plain(item) for item in node["config"].get("value") or []]
        return {key: plain(value) for key, value in node.items() if key != "shared_object_id"}
    if isinstance(node, list):
        return [plain(item) for item in node]
    return node


def dtype_name(value: Any, where: str) -> str | None:
    """A dtype or mixed precision policy name, from a string or a Keras DTypePolicy dict.

    ``'mixed_float16'`` and ``'mixed_bfloat16'`` are checked here (bfloat16 needs
    ml_dtypes), so a layer is never half built; quantized policies are refused.
    """
    if value is None:
        return None
    if isinstance(value, dict):
        value = _policy_dict_name(value, where)
    if not isinstance(value, str):
        raise FileFormatError(f"{where}: expected a dtype name. Received: dtype={value!r:.200}")
    if "_from_" in value:  # Keras's quantized policy names: 'int8_from_mixed_float16'
        raise FileFormatError(
            f"{where}: quantized dtype policies are not supported by gpukeras. "
            f"Received: dtype={value!r:.100}"
        )
    if value.startswith("mixed_"):
        return _mixed_policy_name(value, where)
    dtype = None
    if _DTYPE_NAME.fullmatch(value):  # a plain name only: numpy parses much more
        with contextlib.suppress(TypeError, ValueError):
            dtype = numpy.dtype(value)
    if dtype is None or dtype.kind not in "fiub" or dtype.name != value:
        raise FileFormatError(f"{where}: unsupported dtype. Received: dtype={value!r:.100}")
    return dtype.name


def _policy_dict_name(value: dict[str, Any], where: str) -> Any:
    """The ``name`` inside ``{'class_name': 'DTypePolicy', 'config': {'name': ...}}``."""
    policy = value.get("class_name")
    config = value.get("config")
    if policy in _POLICY_CLASSES and isinstance(config, dict):
        return config.get("name")
    kind = "quantized " if isinstance(policy, str) and "Quantized" in policy else ""
    raise FileFormatError(
        f"{where}: {kind}dtype policy {policy!r:.100} is not supported by gpukeras (only "
        f"float and mixed precision DTypePolicy entries). Received: dtype={value!r:.200}"
    )


def _mixed_policy_name(value: str, where: str) -> str:
    if value not in _MIXED_POLICIES:
        raise FileFormatError(
            f"{where}: unknown mixed precision policy; expected one of "
            f"{', '.join(map(repr, _MIXED_POLICIES))}. Received: dtype={value!r:.100}"
        )
    try:
        Policy(value)
    except ValueError as error:  # mixed_bfloat16 without ml_dtypes
        raise FileFormatError(f"{where}: {error}") from None
    return value


@functools.lru_cache(maxsize=256)
def _accepted_arguments(cls: type) -> frozenset[str]:
    """Argument names of ``cls.__init__`` and its bases' (so Layer's are included).

    Cached per class: ``inspect.signature`` costs about a millisecond, paid once
    per class rather than once per layer of a long config.
    """
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        with contextlib.suppress(TypeError, ValueError):
            names.update(inspect.signature(init).parameters)
    return frozenset(names)


def _layer_config(cls: type, entry: dict[str, Any], where: str) -> dict[str, Any]:
    """The layer's config in the form its ``from_config`` accepts."""
    config = entry.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise FileFormatError(f"{where}: 'config' must be a dict. Received: {config!r:.200}")
    config = dict(config)
    if "dtype" in config:
        config["dtype"] = dtype_name(config["dtype"], where)
    if issubclass(cls, InputLayer) and "batch_shape" not in config:
        # Keras 2 spelling; Keras 3's loader renames it the same way.
        if "batch_input_shape" in config:
            config["batch_shape"] = config.pop("batch_input_shape")
    accepted = _accepted_arguments(cls)
    for key, harmless in _HARMLESS_VALUES.items():
        if key not in config or key in accepted:
            continue
        value = config.pop(key)
        if not any(value is ok or (value == ok and type(value) is type(ok)) for ok in harmless):
            raise FileFormatError(
                f"{where}: gpukeras's {cls.__name__} does not support {key}={value!r:.100} "
                f"(only {key}={harmless[0]!r})."
            )
    return config


# -- which class --------------------------------------------------------------------------
def layer_class(entry: dict[str, Any], custom: dict[str, Any], where: str) -> type:
    name = entry.get("class_name")
    if not isinstance(name, str):
        raise FileFormatError(f"{where}: a layer entry needs a 'class_name' string.")
    for key in (entry.get("registered_name"), name):
        if isinstance(key, str) and key in custom:
            cls = custom[key]
            break
    else:
        registry = layer_registry._REGISTRY
        cls = registry.get(name) or registry.get(layer_registry._ALIASES.get(name, ""))
    if cls is None:
        raise FileFormatError(
            f"{where}: unknown layer class {name!r}. It is not a gpukeras layer; if it is "
            f"your own layer, pass custom_objects={{{name!r}: YourLayer}} to load_model. "
            f"Known: {', '.join(sorted(layer_registry._REGISTRY))}."
        )
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise FileFormatError(
            f"{where}: custom_objects[{name!r}] must be a gpukeras Layer subclass. "
            f"Received: {cls!r}"
        )
    return cls


def normalize_layers(node: Any, custom: dict[str, Any], where: str) -> Any:
    """Every layer entry in the tree (nested ones too) with its config made gpukeras's."""
    if isinstance(node, list):
        return [normalize_layers(item, custom, where) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: normalize_layers(value, custom, where) for key, value in node.items()}
    cls = known_layer_class(node.get("class_name"), node.get("registered_name"), custom)
    if cls is not None and isinstance(node.get("config", {}), (dict, type(None))):
        node["config"] = _layer_config(cls, node, f"{where} ({node['class_name']})")
    return node


def known_layer_class(name: Any, registered: Any, custom: dict[str, Any]) -> type | None:
    for key in (registered, name):
        if isinstance(key, str) and key in custom:
            found = custom[key]
            return found if isinstance(found, type) and issubclass(found, Layer) else None
    if not isinstance(name, str):
        return None
    registry = layer_registry._REGISTRY
    return registry.get(name) or registry.get(layer_registry._ALIASES.get(name, ""))
