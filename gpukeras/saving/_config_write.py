"""Writing model configs: Keras 3's form (``.keras``, ``to_json``) and the legacy ``.h5`` form.

A Sequential's config comes from its ``get_config``; a functional model's from
``_functional_write`` (Keras 3's node format). Dtype policies are written as Keras 3's
``DTypePolicy`` dicts, as Keras writes them.
"""

from __future__ import annotations

from typing import Any

from gpukeras.saving._layer_entries import known_layer_class


def legacy_model_config(model: Any) -> dict[str, Any]:
    """The model config as Keras writes it into legacy ``.h5`` files.

    The model and each layer entry are ``{"class_name", "config"}`` only: Keras 3
    accepts ``batch_input_shape`` and other Keras 2 spellings in entries of this
    form, while one with ``module``/``build_config`` is deserialized strictly.
    Objects nested inside a layer's config (initializers, a wrapper's inner
    layer) keep Keras 3's full form, as Keras writes them; its wrappers need it.
    """
    from gpukeras.saving import _functional_write

    if _functional_write.is_functional_model(model):
        return _functional_write.functional_model_config(model, legacy=True)
    config = dict(model.get_config())
    config["layers"] = [
        # Keras's legacy form names a registered class by its registered name.
        with_policy_dicts(
            {
                "class_name": entry.get("registered_name") or entry["class_name"],
                "config": entry["config"],
            }
        )
        if nested is None
        else _functional_write.layer_entry(nested, legacy=True)
        for entry, nested in _with_nested_models(model, config.get("layers", []))
    ]
    return {"class_name": type(model).__name__, "config": config}


def _with_nested_models(model: Any, entries: list[Any]) -> list[tuple[Any, Any]]:
    """Each of a Sequential's layer entries with the model it describes, if it is one (a
    model used as a layer is written whole, in its own model form, as Keras does)."""
    from gpukeras.models import Model

    input_layer = getattr(model, "_input_layer", None)
    layers = ([input_layer] if input_layer is not None else []) + list(model._layers)
    if len(layers) != len(entries):  # not get_config's list: leave the entries as they are
        return [(entry, None) for entry in entries]
    return [
        (entry, layer if isinstance(layer, Model) else None)
        for entry, layer in zip(entries, layers, strict=True)
    ]


def with_policy_dicts(entry: Any, is_layer: bool = True) -> Any:
    """A layer entry with its dtype policy, and those of layers nested in it, in Keras 3's
    form: ``{'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': ...}}``.

    InputLayer keeps its plain dtype string, as Keras writes it.
    """
    if isinstance(entry, list):
        return [with_policy_dicts(item, False) for item in entry]
    if not isinstance(entry, dict):
        return entry
    entry = {key: with_policy_dicts(value, False) for key, value in entry.items()}
    class_name = entry.get("class_name")
    is_layer = is_layer or known_layer_class(class_name, None, {}) is not None
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
    from gpukeras.saving import _functional_write

    if _functional_write.is_functional_model(model):
        return _functional_write.functional_model_config(model)
    config = dict(model.get_config())
    layers = []
    for entry, nested in _with_nested_models(model, config.get("layers", [])):
        if nested is not None:
            layers.append(_functional_write.layer_entry(nested, legacy=False))
            continue
        entry = dict(entry)
        if entry.get("class_name") != "InputLayer" and isinstance(entry.get("config"), dict):
            entry["config"] = {k: v for k, v in entry["config"].items() if k != "batch_input_shape"}
        layers.append(with_policy_dicts(entry))
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
