"""Model configs in and out: Keras 3 and legacy forms, checked before anything is built.

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

from gpukeras import initializers, losses, optimizers
from gpukeras._custom_objects import custom_object_scope, get_registered_name, with_current
from gpukeras.layers import InputLayer, Layer
from gpukeras.layers import _serialization as layer_registry
from gpukeras.layers._lambda import function_name
from gpukeras.mixed_precision import LossScaleOptimizer, Policy
from gpukeras.saving._assembly import add_all
from gpukeras.saving._errors import FileFormatError

_TRUSTED_MODULES = ("keras", "gpukeras")
_DTYPE_NAME = re.compile(r"[a-z]{3,8}[0-9]{0,3}")
_MAX_DEPTH = 64
_MAX_NODES = 200_000
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
_OPTIMIZER_EXTRAS = ("is_legacy_optimizer", "jit_compile")
_COMPILE_EXTRAS = ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss")


# -- safety scan ---------------------------------------------------------------------------
def check_tree(node: Any, custom_objects: dict[str, Any], safe_mode: bool, label: str) -> None:
    """Refuse code, foreign modules and pathological nesting anywhere in a config."""
    counter = [0]
    _check_node(node, custom_objects, safe_mode, label, 0, counter)


def _check_node(
    node: Any, custom: dict[str, Any], safe_mode: bool, label: str, depth: int, counter: list
) -> None:
    counter[0] += 1
    if depth > _MAX_DEPTH or counter[0] > _MAX_NODES:
        raise FileFormatError(
            f"Not allowed: the config in {label} is nested too deeply or too big."
        )
    if isinstance(node, dict):
        _check_object(node, custom, safe_mode, label)
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return
    for child in children:
        _check_node(child, custom, safe_mode, label, depth + 1, counter)


def _check_object(node: dict[str, Any], custom: dict[str, Any], safe_mode: bool, label: str):
    class_name = node.get("class_name")
    vouched = _in_custom(node, custom)
    is_code = class_name == "__lambda__" or "lambda" in (
        node.get("function_type"),
        node.get("output_shape_type"),
    )
    if is_code:
        raise FileFormatError(
            f"Not allowed: {label} holds a serialized Python function "
            f"(class_name={class_name!r}). Loading it would run code stored in the file, "
            f"which gpukeras never does, with safe_mode={safe_mode} or otherwise: save the "
            "Lambda with a named function and pass that function in custom_objects."
        )
    if class_name == "Lambda" and not vouched:
        _check_lambda(node, custom, label)
    module = node.get("module")
    if module is None or vouched:
        return
    root = module.split(".")[0] if isinstance(module, str) else None
    if root not in _TRUSTED_MODULES:
        raise FileFormatError(
            f"Not allowed: the config in {label} names module {module!r} for class "
            f"{class_name!r}. gpukeras never imports modules named in a file; if this is "
            f"your own class, pass custom_objects={{{class_name!r}: YourClass}}."
        )


def _check_lambda(node: dict[str, Any], custom: dict[str, Any], label: str) -> None:
    """A Lambda layer loads only when each function it names is in ``custom_objects``."""
    config = node.get("config")
    config = config if isinstance(config, dict) else {}
    for argument in ("function", "output_shape", "mask"):
        entry = config.get(argument)
        if argument != "function" and not isinstance(entry, (dict, str)):
            continue  # a shape list, or None
        name = function_name(entry)
        if name is None:
            raise FileFormatError(
                f"Not allowed: {label} holds a Lambda layer whose `{argument}` is stored as "
                f"code ({entry!r:.100}). Loading it would run code stored in the file, which "
                "gpukeras never does: save the Lambda with a named function and pass that "
                "function in custom_objects."
            )
        if name not in custom or not callable(custom[name]):
            raise FileFormatError(
                f"Not allowed: {label} holds a Lambda layer whose `{argument}` is the "
                f"function {name!r:.100}, which is not in custom_objects. Taking it from the "
                "file would run code stored there, which gpukeras never does: pass the "
                f"function itself, e.g. custom_objects={{{name!r:.100}: your_function}}."
            )


def _in_custom(node: dict[str, Any], custom: dict[str, Any]) -> bool:
    keys = [node.get("registered_name"), node.get("class_name")]
    if node.get("class_name") == "function":  # a function saved by name (a Lambda's)
        keys.append(node.get("config"))
    return any(isinstance(key, str) and key in custom for key in keys)


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
    cls = _known_layer_class(node.get("class_name"), node.get("registered_name"), custom)
    if cls is not None and isinstance(node.get("config", {}), (dict, type(None))):
        node["config"] = _layer_config(cls, node, f"{where} ({node['class_name']})")
    return node


def _known_layer_class(name: Any, registered: Any, custom: dict[str, Any]) -> type | None:
    for key in (registered, name):
        if isinstance(key, str) and key in custom:
            found = custom[key]
            return found if isinstance(found, type) and issubclass(found, Layer) else None
    if not isinstance(name, str):
        return None
    registry = layer_registry._REGISTRY
    return registry.get(name) or registry.get(layer_registry._ALIASES.get(name, ""))


def _build_layer(entry: Any, custom: dict[str, Any], where: str) -> Layer:
    if not isinstance(entry, dict):
        raise FileFormatError(f"{where}: a layer entry must be a dict. Received: {entry!r:.200}")
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
            f"{label} holds a {class_name!r:.100} model; gpukeras can only load Sequential "
            "models (functional and subclassed models are not supported yet)."
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
    """A Sequential model from a Keras 3 or legacy model config.

    Args:
        model_config: ``{'class_name': 'Sequential', 'config': {...}}`` (decoded JSON).
        custom_objects: The caller's classes by name; default none.
        safe_mode: Recorded in messages; code in configs is refused either way.
        label: The file (or ``'the JSON string'``), for messages.
        weights_follow: Every weight will be read from the file next; build with
            zeros (see :func:`_zero_initializers`). Default ``False``.
    """
    from gpukeras.models import Sequential

    custom = with_current(custom_objects)
    check_tree(model_config, custom, safe_mode, label)
    model_config = plain(model_config)
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
    with custom_object_scope(custom):
        layers = [
            _build_layer(entry, custom, f"layer #{index} in {label}")
            for index, entry in enumerate(entries)
        ]
    build_config = model_config.get("build_config")
    build_shape = config.get("build_input_shape")
    if build_shape is None and isinstance(build_config, dict):
        build_shape = build_config.get("input_shape")
    build_shape = _shape_or_none(build_shape, f"build_input_shape in {label}")
    guard = _zero_initializers(layers) if weights_follow else contextlib.nullcontext()
    try:
        with guard:
            add_all(model, layers, label)
            if not model.built and build_shape is not None and model.layers:
                model.build(build_shape)
    except MemoryError as error:
        raise FileFormatError(
            f"Not allowed: the model described in {label} needs more memory than is "
            f"available ({error})."
        ) from None
    except (TypeError, ValueError) as error:
        raise FileFormatError(f"Cannot build the model described in {label}: {error}") from None
    return model


# -- writing configs --------------------------------------------------------------------------
def legacy_model_config(model: Any) -> dict[str, Any]:
    """The model config as Keras writes it into legacy ``.h5`` files.

    The model and each layer entry are ``{"class_name", "config"}`` only: Keras 3
    accepts ``batch_input_shape`` and other Keras 2 spellings in entries of this
    form, while one with ``module``/``build_config`` is deserialized strictly.
    Objects nested inside a layer's config (initializers, a wrapper's inner
    layer) keep Keras 3's full form, as Keras writes them; its wrappers need it.
    """
    config = dict(model.get_config())
    config["layers"] = [
        # Keras's legacy form names a registered class by its registered name.
        _with_policy_dicts(
            {
                "class_name": entry.get("registered_name") or entry["class_name"],
                "config": entry["config"],
            }
        )
        for entry in config.get("layers", [])
    ]
    return {"class_name": type(model).__name__, "config": config}


def _with_policy_dicts(entry: Any, is_layer: bool = True) -> Any:
    """A layer entry with its dtype policy, and those of layers nested in it, in Keras 3's
    form: ``{'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': ...}}``.

    InputLayer keeps its plain dtype string, as Keras writes it.
    """
    if isinstance(entry, list):
        return [_with_policy_dicts(item, False) for item in entry]
    if not isinstance(entry, dict):
        return entry
    entry = {key: _with_policy_dicts(value, False) for key, value in entry.items()}
    class_name = entry.get("class_name")
    is_layer = is_layer or _known_layer_class(class_name, None, {}) is not None
    config = entry.get("config")
    if (
        is_layer
        and class_name != "InputLayer"
        and isinstance(config, dict)
        and isinstance(config.get("dtype"), str)
    ):
        entry["config"] = {
            **config,
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": config["dtype"]},
                "registered_name": None,
            },
        }
    return entry


def model_config(model: Any) -> dict[str, Any]:
    """Keras 3's ``{'module', 'class_name', 'config', 'registered_name', 'build_config'}``.

    ``batch_input_shape`` is left out of layer configs (the model's InputLayer
    entry carries the input shape), because Keras 3 rejects it there.
    """
    config = dict(model.get_config())
    layers = []
    for entry in config.get("layers", []):
        entry = dict(entry)
        if entry.get("class_name") != "InputLayer" and isinstance(entry.get("config"), dict):
            entry["config"] = {k: v for k, v in entry["config"].items() if k != "batch_input_shape"}
        layers.append(_with_policy_dicts(entry))
    config["layers"] = layers
    result: dict[str, Any] = {
        "module": "keras",
        "class_name": type(model).__name__,
        "config": config,
        "registered_name": None,
    }
    if config.get("build_input_shape") is not None:
        result["build_config"] = {"input_shape": list(config["build_input_shape"])}
    return result


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


# -- compiling from a file's config ----------------------------------------------------------
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
