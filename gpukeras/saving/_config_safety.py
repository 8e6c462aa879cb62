"""The safety scan every config goes through before anything is built from it.

Refuses code (serialized functions, Lambda layers whose functions the caller did not
pass), modules outside ``keras``/``gpukeras`` unless the caller vouched for the class,
and pathological nesting or size, anywhere in the tree.
"""

from __future__ import annotations

from typing import Any

from gpukeras.layers._lambda import function_name
from gpukeras.saving._errors import FileFormatError

_TRUSTED_MODULES = ("keras", "gpukeras")
_MAX_DEPTH = 64
_MAX_NODES = 200_000


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
    if class_name == "function" and root not in _TRUSTED_MODULES:
        name = node.get("config")
        raise FileFormatError(
            f"Not allowed: the config in {label} names the function {name!r} (module "
            f"{module!r}). gpukeras never imports code named in a file: pass your function "
            f"as custom_objects={{{name!r}: your_function}}."
        )
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
