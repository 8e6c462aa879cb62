"""Building a functional model from a checked :class:`FunctionalSpec`.

``replay`` makes the spec's calls in order, resolving each :class:`TensorRef` to the
tensor an earlier call made (and refusing an output index the call did not make).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpukeras.saving._errors import FileFormatError
from gpukeras.saving._functional_config import Call, FunctionalSpec, TensorRef


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
        made.setdefault(call.layer, []).append(_flat(result))
    return resolve(spec.inputs), resolve(spec.outputs)


def _flat(result: Any) -> list[Any]:
    """A call's output tensors in Keras's order (a dict's by sorted key)."""
    if isinstance(result, dict):
        return [item for key in sorted(result) for item in _flat(result[key])]
    if isinstance(result, (list, tuple)):
        return [item for value in result for item in _flat(value)]
    return [result]
