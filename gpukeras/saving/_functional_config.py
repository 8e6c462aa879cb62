"""A functional model's config, checked and put in call order before anything is built.

Keras 3 writes a functional model as its ``layers`` (each entry with a ``name`` and
``inbound_nodes``: one per call of the layer in this model) plus ``input_layers`` and
``output_layers``. A call's ``args``/``kwargs`` hold ``__keras_tensor__`` dicts whose
``keras_history`` ``[layer, node, tensor]`` says which call of which layer made the
tensor, and which of that call's outputs it is. Keras 2 files store a call as a list of
``[layer, node, tensor, kwargs]`` instead; both are read.

Two quirks follow Keras 3: an InputLayer has no inbound nodes but one node (its
tensor); and ``input_layers``/``output_layers`` count a nested *functional* model's
calls from 1 (Keras 2 gave such models a node of their own), while ``keras_history``
counts them from 0.

Files are hostile: every count is capped before anything is allocated, references are
checked against what exists, and the calls are ordered in time linear in their number
(Kahn's algorithm). Cycles, dangling or out-of-range references and duplicate names are
refused with a :class:`FileFormatError` naming them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from gpukeras.saving._errors import FileFormatError

FUNCTIONAL_CLASSES = ("Functional", "Model")
# As for Sequential configs (see _config.MAX_LAYERS): far more than real models have.
MAX_LAYERS = 4096
MAX_CALLS = 16_384
MAX_REFERENCES = 65_536  # tensors named by all calls together
MAX_OUTPUTS_PER_CALL = 4096
MAX_MODEL_DEPTH = 12  # models nested in models
_MAX_ARGUMENT_DEPTH = 16  # lists in lists in a call's arguments
_KERAS_TENSOR = "__keras_tensor__"


@dataclass(frozen=True)
class TensorRef:
    """Output ``tensor`` of call number ``node`` of layer ``layer``."""

    layer: str
    node: int
    tensor: int


@dataclass(frozen=True)
class Call:
    """One call of a layer: arguments with :class:`TensorRef` where tensors go."""

    layer: str
    args: list[Any]
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class FunctionalSpec:
    """A checked functional config: what to build and in which order to call it.

    ``layers`` are the layer entries in file order (without ``inbound_nodes``);
    ``calls`` are in an order where every tensor exists before it is used, and a
    layer's calls keep their file order (its n-th call makes its node n);
    ``inputs``/``outputs`` have the structure the file gives (one, list or dict).
    """

    name: str | None
    trainable: bool
    layers: list[dict[str, Any]]
    calls: list[Call]
    inputs: Any
    outputs: Any


def is_functional(model_config: Any) -> bool:
    return isinstance(model_config, dict) and model_config.get("class_name") in FUNCTIONAL_CLASSES


def check_depth(depth: int, label: str) -> None:
    if depth > MAX_MODEL_DEPTH:
        raise FileFormatError(
            f"Not allowed: {label} nests models more than {MAX_MODEL_DEPTH} deep "
            f"(a model in a model in a model...). Received: depth={depth}"
        )


def parse_functional(config: Any, label: str, depth: int = 0) -> FunctionalSpec:
    """Check a functional model's ``config`` (the dict under ``'config'``) and order its calls.

    Args:
        config: ``{'name', 'trainable', 'layers', 'input_layers', 'output_layers'}``,
            already through ``_layer_entries.plain`` (no ``__tuple__`` wrappers).
        label: The file, for messages.
        depth: How many models enclose this one (0 for the file's model).
    """
    check_depth(depth, label)
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise FileFormatError(f"Invalid functional model config in {label}: no 'layers' list.")
    entries = config["layers"]
    check_counts(config, label)
    nodes_of, classes = _index_layers(entries, label)
    layers, calls = [], []
    for entry in entries:
        name = entry["name"]
        layers.append({key: value for key, value in entry.items() if key != "inbound_nodes"})
        calls.extend(_parse_call(name, node, label) for node in entry["inbound_nodes"])
    _check_references(calls, nodes_of, label)
    inputs = _io_refs(config, "input_layers", nodes_of, classes, label)
    outputs = _io_refs(config, "output_layers", nodes_of, classes, label)
    _check_inputs(inputs, calls, outputs, classes, label)
    name = config.get("name")
    return FunctionalSpec(
        name=name if isinstance(name, str) else None,
        trainable=bool(config.get("trainable", True)),
        layers=layers,
        calls=_call_order(calls, entries, label),
        inputs=inputs,
        outputs=outputs,
    )


# -- counting and indexing ------------------------------------------------------------------
def check_counts(config: Any, label: str) -> None:
    """Refuse absurd sizes from the lengths alone, before any call is parsed (a functional
    ``config`` without a ``layers`` list is left to :func:`parse_functional`)."""
    entries = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(entries, list):
        return
    if len(entries) > MAX_LAYERS:
        raise FileFormatError(
            f"Not allowed: the functional model in {label} lists {len(entries)} layers; "
            f"gpukeras loads at most {MAX_LAYERS}."
        )
    total = 0
    for index, entry in enumerate(entries):
        nodes = entry.get("inbound_nodes") if isinstance(entry, dict) else None
        if not isinstance(nodes, list):
            raise FileFormatError(
                f"Invalid functional model config in {label}: layer #{index} needs a dict "
                f"with an 'inbound_nodes' list. Received: {entry!r:.200}"
            )
        total += len(nodes)
        if total > MAX_CALLS:
            raise FileFormatError(
                f"Not allowed: the functional model in {label} has more than {MAX_CALLS} "
                f"layer calls (inbound nodes); gpukeras loads at most {MAX_CALLS}."
            )


def _index_layers(entries: list[dict], label: str) -> tuple[dict[str, int], dict[str, str]]:
    """How many nodes each layer has, and its class, by name; names must be unique."""
    nodes_of: dict[str, int] = {}
    classes: dict[str, str] = {}
    for index, entry in enumerate(entries):
        name = entry.get("name")
        if name is None and isinstance(entry.get("config"), dict):
            name = entry["config"].get("name")
        if not isinstance(name, str) or not name:
            raise FileFormatError(
                f"Invalid functional model config in {label}: layer #{index} has no name. "
                f"Received: name={name!r:.100}"
            )
        if name in nodes_of:
            raise FileFormatError(
                f"Invalid functional model config in {label}: the layer name {name!r:.100} "
                "is used twice; layer names in a model must be unique."
            )
        entry["name"] = name
        class_name = entry.get("class_name")
        classes[name] = class_name if isinstance(class_name, str) else ""
        calls = len(entry["inbound_nodes"])
        if classes[name] == "InputLayer" and calls:
            raise FileFormatError(
                f"Invalid functional model config in {label}: InputLayer {name!r:.100} has "
                "inbound nodes; an InputLayer is never called on other tensors."
            )
        nodes_of[name] = 1 if classes[name] == "InputLayer" else calls
    return nodes_of, classes


# -- one call --------------------------------------------------------------------------------
def _parse_call(layer: str, node: Any, label: str) -> Call:
    where = f"a call of layer {layer!r:.100} in {label}"
    if isinstance(node, dict):  # Keras 3: {'args': [...], 'kwargs': {...}}
        args, kwargs = node.get("args", []), node.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise FileFormatError(
                f"Invalid functional model config: {where} needs an 'args' list and a "
                f"'kwargs' dict. Received: {node!r:.200}"
            )
        return Call(layer, _arguments(args, where, 0), _arguments(kwargs, where, 0))
    if isinstance(node, list) and node:  # Keras 2: [[layer, node, tensor, kwargs], ...]
        return _parse_keras2_call(layer, node, where)
    raise FileFormatError(
        f"Invalid functional model config: {where} is neither Keras 3's "
        f"{{'args', 'kwargs'}} nor Keras 2's list of inputs. Received: {node!r:.200}"
    )


def _parse_keras2_call(layer: str, node: list[Any], where: str) -> Call:
    """Keras 2's call: one tensor, or a list of them, as the only argument; the kwargs of
    the last input (Keras 2 repeated them on each)."""
    tensors, kwargs = [], {}
    for item in node:
        if not (isinstance(item, list) and len(item) in (3, 4)):
            raise FileFormatError(
                f"Invalid functional model config: {where} lists an input that is not "
                f"[layer, node, tensor(, kwargs)]. Received: {item!r:.200}"
            )
        tensors.append(_history(item[:3], where))
        kwargs = item[3] if len(item) == 4 else {}
        if not isinstance(kwargs, dict):
            raise FileFormatError(
                f"Invalid functional model config: {where} has call kwargs that are not "
                f"a dict. Received: {kwargs!r:.200}"
            )
    first = tensors[0] if len(tensors) == 1 else tensors
    return Call(layer, [first], _arguments(kwargs, where, 0))


def _arguments(value: Any, where: str, depth: int) -> Any:
    """A call's arguments with each ``__keras_tensor__`` dict made a :class:`TensorRef`."""
    if depth > _MAX_ARGUMENT_DEPTH:
        raise FileFormatError(f"Not allowed: the arguments of {where} are nested too deeply.")
    if isinstance(value, dict):
        if value.get("class_name") == _KERAS_TENSOR:
            config = value.get("config")
            history = config.get("keras_history") if isinstance(config, dict) else None
            return _history(history, where)
        return {key: _arguments(item, where, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_arguments(item, where, depth + 1) for item in value]
    return value


def _history(history: Any, where: str) -> TensorRef:
    if not (
        isinstance(history, list)
        and len(history) == 3
        and isinstance(history[0], str)
        and all(_is_count(item) for item in history[1:])
    ):
        raise FileFormatError(
            f"Invalid functional model config: {where} names a tensor by "
            f"{history!r:.200}; expected [layer name, node index, tensor index] with "
            "non-negative integer indices."
        )
    if history[2] >= MAX_OUTPUTS_PER_CALL:
        raise FileFormatError(
            f"Invalid functional model config: {where} names output {history[2]} of layer "
            f"{history[0]!r:.100}; no layer has that many outputs. Received: {history!r:.200}"
        )
    return TensorRef(history[0], history[1], history[2])


def keras_order(outputs: Any) -> list[Any]:
    """A call's output tensors in Keras's order, which ``keras_history`` indices count in:
    lists and tuples in order, a dict's values by sorted key."""
    if isinstance(outputs, dict):
        return [item for key in sorted(outputs) for item in keras_order(outputs[key])]
    if isinstance(outputs, (list, tuple)):
        return [item for value in outputs for item in keras_order(value)]
    return [outputs]


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def references(value: Any) -> list[TensorRef]:
    """Every :class:`TensorRef` in a structure of lists, tuples and dicts, in order."""
    found: list[TensorRef] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, TensorRef):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            pending.extend(reversed(item))
    return found


def _check_ref(ref: TensorRef, nodes_of: dict[str, int], first: int, where: str, label: str):
    if ref.layer not in nodes_of:
        raise FileFormatError(
            f"Invalid functional model config in {label}: {where} uses a tensor of layer "
            f"{ref.layer!r:.100}, which the model does not list."
        )
    count = nodes_of[ref.layer]
    if not first <= ref.node < count + first:
        raise FileFormatError(
            f"Invalid functional model config in {label}: {where} uses node {ref.node} "
            f"of layer {ref.layer!r:.100}, which has {count} node(s) (indices "
            f"{first}..{count + first - 1})."
        )


def _check_references(calls: list[Call], nodes_of: dict[str, int], label: str) -> None:
    count = 0
    for call in calls:
        for ref in references((call.args, call.kwargs)):
            count += 1
            if count > MAX_REFERENCES:
                raise FileFormatError(
                    f"Not allowed: the calls in {label} name more than {MAX_REFERENCES} tensors."
                )
            _check_ref(ref, nodes_of, 0, f"a call of layer {call.layer!r:.100}", label)


# -- inputs and outputs ------------------------------------------------------------------------
def _io_refs(
    config: dict, key: str, nodes_of: dict[str, int], classes: dict[str, str], label: str
) -> Any:
    if key not in config:
        raise FileFormatError(f"Invalid functional model config in {label}: no {key!r}.")
    where = f"{key!r}"

    def convert(value: Any, depth: int) -> Any:
        if depth > _MAX_ARGUMENT_DEPTH:
            raise FileFormatError(f"Not allowed: {where} in {label} is nested too deeply.")
        if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
            ref = _history(value, f"{where} in {label}")
            functional = classes.get(ref.layer) in FUNCTIONAL_CLASSES
            _check_ref(ref, nodes_of, 1 if functional else 0, where, label)
            return TensorRef(ref.layer, ref.node - 1, ref.tensor) if functional else ref
        if isinstance(value, dict):
            return {k: convert(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list) and value:
            return [convert(v, depth + 1) for v in value]
        raise FileFormatError(
            f"Invalid functional model config in {label}: {where} must hold "
            f"[layer, node, tensor] entries (one, a list or a dict). Received: {value!r:.200}"
        )

    return convert(config[key], 0)


def _check_inputs(inputs: Any, calls: list[Call], outputs: Any, classes: dict, label: str):
    """Model inputs are InputLayers, and every InputLayer the graph uses is a model input."""
    declared = set()
    for ref in references(inputs):
        if classes.get(ref.layer) != "InputLayer":
            raise FileFormatError(
                f"Invalid functional model config in {label}: 'input_layers' names "
                f"{ref.layer!r:.100}, a {classes.get(ref.layer)!r:.100}, not an InputLayer."
            )
        declared.add(ref.layer)
    used = [ref for call in calls for ref in references((call.args, call.kwargs))]
    for ref in used + references(outputs):
        if classes.get(ref.layer) == "InputLayer" and ref.layer not in declared:
            raise FileFormatError(
                f"Invalid functional model config in {label}: the graph uses input "
                f"{ref.layer!r:.100}, which is not in 'input_layers'."
            )


# -- ordering ----------------------------------------------------------------------------------
def _call_order(calls: list[Call], entries: list[dict], label: str) -> list[Call]:
    """The calls in an order where each tensor is made before it is used (Kahn's algorithm).

    A layer's n-th call must come after its (n-1)-th (it makes node n), so each call
    also waits for the layer's previous call. Whatever cannot be ordered is on, or
    behind, a cycle.
    """
    first_call: dict[str, int] = {}
    calls_of: dict[str, int] = {}
    position = 0
    for entry in entries:
        first_call[entry["name"]] = position
        calls_of[entry["name"]] = len(entry["inbound_nodes"])
        position += calls_of[entry["name"]]
    waiting = [0] * len(calls)
    users: list[list[int]] = [[] for _ in calls]
    for index, call in enumerate(calls):
        producers = {
            first_call[ref.layer] + ref.node
            for ref in references((call.args, call.kwargs))
            if ref.node < calls_of[ref.layer]  # else an InputLayer's tensor: no call makes it
        }
        if index > first_call[call.layer]:
            producers.add(index - 1)  # the layer's previous call
        for producer in producers:
            users[producer].append(index)
        waiting[index] = len(producers)
    ready = deque(index for index, count in enumerate(waiting) if count == 0)
    ordered: list[Call] = []
    while ready:
        index = ready.popleft()
        ordered.append(calls[index])
        for user in users[index]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if len(ordered) < len(calls):
        stuck = sorted({calls[i].layer for i, count in enumerate(waiting) if count})
        raise FileFormatError(
            f"Invalid functional model config in {label}: the graph has a cycle; these "
            f"layers' calls wait on each other: {', '.join(map(repr, stuck[:8]))}"
            f"{' ...' if len(stuck) > 8 else ''}."
        )
    return ordered
