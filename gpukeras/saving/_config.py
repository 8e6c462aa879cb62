"""Building models from configs: Sequential and functional, nested in each other.

A config first goes through the safety scan (``_config_safety``); its layer entries are
made gpukeras's by ``_layer_entries``; a functional model is checked and ordered by
``_functional_config`` and built by ``_functional_build``. Keras 3's entries (``module``,
``class_name``, ``config``, ``registered_name``, ``build_config``, DTypePolicy dicts,
``__tuple__``) and legacy ones (``class_name`` + ``config``, ``batch_input_shape``, a
Keras 2.0 Sequential config that is a bare list of layers) are read. Classes come only
from gpukeras's layer registry and the caller's objects: a ``module`` named in a file is
never imported, and gpukeras never runs code stored in a file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from gpukeras import initializers
from gpukeras._custom_objects import custom_object_scope, with_current
from gpukeras.layers import Layer
from gpukeras.saving._assembly import add_all
from gpukeras.saving._config_safety import check_tree
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._functional_config import check_counts, check_depth, is_functional
from gpukeras.saving._layer_entries import layer_class, normalize_layers, plain

# More layers than any real Sequential model has; a config listing more is refused
# before any is built (see docs/saving.md).
MAX_LAYERS = 4096


def _build_layer(
    entry: Any, custom: dict[str, Any], where: str, weights_follow: bool = False, depth: int = 0
) -> Layer:
    """One layer from its entry; a Sequential or functional model entry is built whole, one
    nesting level deeper."""
    if not isinstance(entry, dict):
        raise FileFormatError(f"{where}: a layer entry must be a dict. Received: {entry!r:.200}")
    if entry.get("class_name") == "Sequential" or functional_class(entry, custom) is not None:
        return _model(entry, custom, where, weights_follow, depth + 1)
    cls = layer_class(entry, custom, where)
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
    config = model_config.get("config")
    if class_name != "Sequential" and isinstance(config, dict) and "input_layers" in config:
        raise FileFormatError(
            f"{label} holds a functional model of your class {class_name!r:.100} (a Model "
            "subclass made with inputs and outputs): register the class, or pass "
            f"custom_objects={{{class_name!r:.100}: YourModelClass}}."
        )
    if class_name != "Sequential":
        raise FileFormatError(
            f"{label} holds a {class_name!r:.100} model; gpukeras loads Sequential and "
            "functional models from files. A subclassed model's architecture is Python "
            "code: build it in code and load its weights with load_weights."
        )
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
def zero_initializers(layers: list[Layer]) -> Iterator[None]:
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
            zeros (see :func:`zero_initializers`). Default ``False``.
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
    model_class = functional_class(model_config, custom)
    if model_class is not None:
        from gpukeras.saving._functional_build import functional_from_config

        def build_layer(entry: dict[str, Any], where: str) -> Layer:
            return _build_layer(entry, custom, where, weights_follow, depth)

        return functional_from_config(
            model_config, build_layer, label, depth, weights_follow, model_class
        )
    return _sequential(model_config, custom, label, weights_follow, depth)


def functional_class(model_config: Any, custom: dict[str, Any]) -> type | None:
    """The class to build a functional config as: ``Functional``, or the caller's Model
    subclass the entry names (``CustomModel(inputs, outputs)`` saved); None if the config
    is not a functional model's."""
    from gpukeras.models import Model, Sequential
    from gpukeras.models.functional import Functional

    if is_functional(model_config):
        return Functional
    if not isinstance(model_config, dict) or not isinstance(model_config.get("config"), dict):
        return None
    if "input_layers" not in model_config["config"]:
        return None
    for key in (model_config.get("registered_name"), model_config.get("class_name")):
        found = custom.get(key) if isinstance(key, str) else None
        if (
            isinstance(found, type)
            and issubclass(found, Model)
            and not issubclass(found, Sequential)
        ):
            return found
    return None


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
    guard = zero_initializers(layers) if weights_follow else contextlib.nullcontext()
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
