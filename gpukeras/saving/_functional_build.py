"""Building a functional model from its config, checked first by ``_functional_config``.

Each layer entry is built (a nested model through ``_config.model_from_config``, one
level deeper), then :func:`replay` makes the calls in the checked order, resolving each
:class:`TensorRef` to the tensor an earlier call made (and refusing an output index the
call did not make), and ``Model(inputs, outputs)`` joins them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from gpukeras.layers import KerasTensor
from gpukeras.saving._config import building, zero_initializers
from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._functional_config import (
    Call,
    FunctionalSpec,
    TensorRef,
    keras_order,
    parse_functional,
)

_CALL_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, NotImplementedError)


def functional_from_config(
    model_config: dict[str, Any],
    build_layer: Callable[[dict[str, Any], str], Any],
    label: str,
    depth: int,
    weights_follow: bool = False,
    model_class: type | None = None,
) -> Any:
    """A functional model from ``{'class_name': 'Functional', 'config': {...}}``.

    Args:
        model_config: Already through the safety scan and ``plain``.
        build_layer: Builds one layer entry (a nested model one level deeper);
            ``(entry, where) -> layer``.
        label: The file, for messages.
        depth: How many models enclose this one.
        weights_follow: Build with zeros; every weight is read from the file next.
        model_class: ``Functional`` (the default) or the caller's Model subclass the
            file names, made as ``model_class(inputs, outputs, name=...)``.
    """
    from gpukeras.models.functional import Functional

    spec = parse_functional(model_config.get("config"), label, depth)
    layers = {
        entry["name"]: build_layer(entry, f"layer {entry['name']!r:.100} in {label}")
        for entry in spec.layers
    }
    for name, layer in layers.items():
        if layer.name != name:  # the entry's 'name' is what the nodes use
            raise FileFormatError(
                f"Invalid functional model config in {label}: the layer listed as {name!r:.100} "
                f"is named {layer.name!r:.100} in its own config."
            )

    def input_tensor(name: str) -> Any:
        tensor = getattr(layers[name], "output", None)
        if not isinstance(tensor, KerasTensor):  # a custom class standing in for InputLayer
            raise FileFormatError(
                f"Cannot rebuild the functional model in {label}: input {name!r:.100} was "
                f"built as {type(layers[name]).__name__}, which makes no input tensor."
            )
        return tensor

    def call_layer(call: Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        kwargs = {key: value for key, value in kwargs.items() if value is not None}
        try:
            return layers[call.layer](*args, **kwargs)
        except _CALL_ERRORS as error:
            raise FileFormatError(
                f"Cannot rebuild the functional model in {label}: calling layer "
                f"{call.layer!r:.100} as the file says failed: {error}"
            ) from None

    built = list(layers.values())
    guard = zero_initializers(built) if weights_follow else contextlib.nullcontext()
    with building(label), guard:
        inputs, outputs = replay(spec, input_tensor, call_layer, label)
        # Each layer's own flag comes from its config: `trainable=True` given to the model
        # would set every layer's, unfreezing a frozen nested base, so only False is passed.
        frozen = {} if spec.trainable else {"trainable": False}
        return (model_class or Functional)(inputs, outputs, name=spec.name, **frozen)


def replay(
    spec: FunctionalSpec,
    input_tensor: Callable[[str], Any],
    call_layer: Callable[[Call, list[Any], dict[str, Any]], Any],
    label: str,
) -> tuple[Any, Any]:
    """Make every call of ``spec`` in order; return the model's (inputs, outputs) tensors.

    Args:
        input_tensor: The tensor of the InputLayer of that name.
        call_layer: Calls the layer of ``call`` on resolved arguments; returns its
            output (one tensor, or a list/tuple/dict of them).
    """
    made: dict[str, list[list[Any]]] = {}

    def tensor(ref: TensorRef) -> Any:
        if ref.layer not in made:
            made[ref.layer] = [[input_tensor(ref.layer)]]
        outputs = made[ref.layer][ref.node]
        if ref.tensor >= len(outputs):
            raise FileFormatError(
                f"Invalid functional model config in {label}: it uses output {ref.tensor} "
                f"of call {ref.node} of layer {ref.layer!r:.100}, which has "
                f"{len(outputs)} output(s)."
            )
        return outputs[ref.tensor]

    def resolve(value: Any) -> Any:
        if isinstance(value, TensorRef):
            return tensor(value)
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return value

    for call in spec.calls:
        result = call_layer(call, resolve(call.args), resolve(call.kwargs))
        made.setdefault(call.layer, []).append(keras_order(result))
    return resolve(spec.inputs), resolve(spec.outputs)
