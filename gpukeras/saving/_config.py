"""Reading model configs: Keras 3 and legacy forms, checked before anything is built.

Reading accepts Keras 3's entries (``module``, ``class_name``, ``config``,
``registered_name``, ``build_config``, DTypePolicy dicts, ``__tuple__``) and
legacy ones (``class_name`` + ``config``, ``batch_input_shape``, a Keras 2.0
Sequential config that is a bare list of layers). Classes come only from
gpukeras's layer registry and the caller's ``custom_objects``: a ``module``
named in a file is never imported, and one outside ``keras``/``gpukeras`` is
refused unless the caller vouched for the class. Serialized Python functions
(bytecode) are refused whatever ``safe_mode`` says, and a Lambda layer loads
only when the caller passes each function it names in ``custom_objects``:
gpukeras never runs code stored in a file.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Iterator
from typing import Any

import numpy

from gpukeras import initializers
from gpukeras._custom_objects import custom_object_scope, with_current
from gpukeras.layers import InputLayer, Layer
from gpukeras.layers import _serialization as layer_registry
from gpukeras.mixed_precision import Policy
from gpukeras.saving._assembly import add_all
from gpukeras.saving._config_safety import check_tree
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._functional_config import check_counts, check_depth, is_functional

_DTYPE_NAME = re.compile(r"[a-z]{3,8}[0-9]{0,3}")
# More layers than any real Sequential model has; a config listing more is refused
# before any is built (see docs/saving.md).
MAX_LAYERS = 4096
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


# -- building a model ------------------------------------------------------------------------
def _layer_class(entry: dict[str, Any], custom: dict[str, Any], where: str) -> type:
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


def _build_layer(
    entry: Any, custom: dict[str, Any], where: str, weights_follow: bool = False, depth: int = 0
) -> Layer:
    """One layer from its entry; a Sequential or functional model entry is built whole, one
    nesting level deeper."""
    if not isinstance(entry, dict):
        raise FileFormatError(f"{where}: a layer entry must be a dict. Received: {entry!r:.200}")
    if entry.get("class_name") == "Sequential" or is_functional(entry):
        return _model(entry, custom, where, weights_follow, depth + 1)
    cls = _layer_class(entry, custom, where)
    entry = normalize_layers(entry, custom, where)
    config = entry.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise FileFormatError(
            f"{where}: the {cls.__name__} entry's 'config' must be a dict. "
            f"Received: config={config!r:.200}"
        )
    try:
        return cls.from_config(config)
    except (
        TypeError,
        ValueError,
        NotImplementedError,
        KeyError,
        AttributeError,
        IndexError,
        OverflowError,
    ) as error:
        raise FileFormatError(
            f"{where}: cannot build {cls.__name__} "
            f"{config.get('name', '')!r} from its config: {error}"
        ) from None


def _sequential_parts(model_config: Any, label: str) -> tuple[dict[str, Any], list[Any]]:
    """The Sequential's own config and its layer entries, from any Keras version."""
    if not isinstance(model_config, dict) or "class_name" not in model_config:
        raise FileFormatError(
            f"Invalid model config in {label}: expected a dict with 'class_name' and "
            f"'config'. Received: {model_config!r:.200}"
        )
    class_name = model_config["class_name"]
    if not isinstance(class_name, str):
        raise FileFormatError(
            f"Invalid model config in {label}: 'class_name' must be a string. "
            f"Received: class_name={class_name!r:.100}"
        )
    if class_name != "Sequential":
        raise FileFormatError(
            f"{label} holds a {class_name!r:.100} model; gpukeras loads Sequential and "
            "functional models from files. A subclassed model's architecture is Python "
            "code: build it in code and load its weights with load_weights."
        )
    config = model_config.get("config")
    if isinstance(config, list):  # Keras 2.0-2.2: the config was the list of layers
        config = {"layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise FileFormatError(f"Invalid Sequential config in {label}: no 'layers' list.")
    return config, config["layers"]


def _shape_or_none(value: Any, where: str) -> tuple[Any, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in value
    ):
        raise FileFormatError(f"{where}: invalid input shape. Received: {value!r:.200}")
    return tuple(value)


@contextlib.contextmanager
def _zero_initializers(layers: list[Layer]) -> Iterator[None]:
    """Build with zeros, restoring each layer's own initializers afterwards.

    Used when every weight is about to be read from the file: zeros cost no
    random draws and, on the host, no memory until written, so a config that
    declares a model far larger than its file is refused before it is paid for.
    """
    zeros = initializers.Zeros()
    saved = [
        (layer, key, value)
        for layer in _with_inner_layers(layers)
        for key, value in vars(layer).items()
        if key.endswith("_initializer") and value is not None
    ]
    for layer, key, _ in saved:
        setattr(layer, key, zeros)
    try:
        yield
    finally:
        for layer, key, value in saved:
            setattr(layer, key, value)


def _with_inner_layers(layers: list[Layer]) -> list[Layer]:
    """The layers and, recursively, layers held in their attributes (wrappers, cells)."""
    found: dict[int, Layer] = {}
    pending = list(layers)
    while pending:
        layer = pending.pop()
        if id(layer) in found:
            continue
        found[id(layer)] = layer
        for value in vars(layer).values():
            items = value if isinstance(value, (list, tuple)) else [value]
            pending.extend(item for item in items if isinstance(item, Layer))
    return list(found.values())


def model_from_config(
    model_config: Any,
    custom_objects: dict[str, Any] | None,
    safe_mode: bool,
    label: str,
    weights_follow: bool = False,
) -> Any:
    """A Sequential or functional model from a Keras 3 or legacy model config.

    Args:
        model_config: ``{'class_name': 'Sequential' or 'Functional', 'config': {...}}``
            (decoded JSON).
        custom_objects: The caller's classes by name (with those registered or in
            scope); default none.
        safe_mode: Recorded in messages; code in configs is refused either way.
        label: The file (or ``'the JSON string'``), for messages.
        weights_follow: Every weight will be read from the file next; build with
            zeros (see :func:`_zero_initializers`). Default ``False``.
    """
    custom = with_current(custom_objects)
    if is_functional(model_config):  # refuse absurd sizes before scanning the whole tree
        check_counts(model_config.get("config"), label)
    check_tree(model_config, custom, safe_mode, label)
    model_config = plain(model_config)
    with custom_object_scope(custom):
        return _model(model_config, custom, label, weights_follow, 0)


def _model(
    model_config: Any, custom: dict[str, Any], label: str, weights_follow: bool, depth: int
) -> Any:
    check_depth(depth, label)
    if is_functional(model_config):
        from gpukeras.saving._functional_build import functional_from_config

        def build_layer(entry: dict[str, Any], where: str) -> Layer:
            return _build_layer(entry, custom, where, weights_follow, depth)

        return functional_from_config(model_config, build_layer, label, depth, weights_follow)
    return _sequential(model_config, custom, label, weights_follow, depth)


def _sequential(
    model_config: Any, custom: dict[str, Any], label: str, weights_follow: bool, depth: int
) -> Any:
    from gpukeras.models import Sequential

    config, entries = _sequential_parts(model_config, label)
    if len(entries) > MAX_LAYERS:
        raise FileFormatError(
            f"Not allowed: the model in {label} lists {len(entries)} layers; gpukeras loads "
            f"at most {MAX_LAYERS}."
        )
    name = config.get("name")
    model = Sequential(
        name=name if isinstance(name, str) else None,
        trainable=bool(config.get("trainable", True)),
    )
    layers = [
        _build_layer(entry, custom, f"layer #{index} in {label}", weights_follow, depth)
        for index, entry in enumerate(entries)
    ]
    build_config = model_config.get("build_config")
    build_shape = config.get("build_input_shape")
    if build_shape is None and isinstance(build_config, dict):
        build_shape = build_config.get("input_shape")
    build_shape = _shape_or_none(build_shape, f"build_input_shape in {label}")
    guard = _zero_initializers(layers) if weights_follow else contextlib.nullcontext()
    with building(label):
        with guard:
            add_all(model, layers, label)
            if not model.built and build_shape is not None and model.layers:
                model.build(build_shape)
    return model


@contextlib.contextmanager
def building(label: str) -> Iterator[None]:
    """Errors while building what a config describes, as FileFormatError naming the file."""
    try:
        yield
    except MemoryError as error:
        raise FileFormatError(
            f"Not allowed: the model described in {label} needs more memory than is "
            f"available ({error})."
        ) from None
    except RecursionError:
        raise FileFormatError(
            f"Cannot build the model described in {label}: its graph is deeper than "
            "gpukeras can walk (Python's recursion limit)."
        ) from None
    except (TypeError, ValueError) as error:
        if isinstance(error, FileFormatError):
            raise
        raise FileFormatError(f"Cannot build the model described in {label}: {error}") from None
