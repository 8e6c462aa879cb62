"""The arrays of a model with several inputs or outputs: converted, matched to the
outputs, checked, and handed to the step.

``x`` may be one array, a list/tuple or a dict keyed by input name; it reaches the
model's ``call()`` in the structure given. ``y`` and ``sample_weight`` of a model with
several outputs are matched to the outputs (by position, or by output name for a dict)
and travel as a :class:`~gpukeras.models._structure.Nest` in the outputs' order; a
single ``sample_weight`` array weighs every output, as in Keras.
"""

from __future__ import annotations

from typing import Any

from gpukeras.models import _data, _structure
from gpukeras.models._compile_outputs import OutputHead, known_outputs, output_heads
from gpukeras.models._structure import Nest


def inputs(value: Any, argument: str) -> Any:
    """``x`` as a float array, or a Nest of them."""
    return convert(value, argument, _data.as_inputs)


def targets(value: Any, argument: str) -> Any:
    """``y`` as an array (integer labels kept), or a Nest of them."""
    return convert(value, argument, _data.as_targets)


def convert(value: Any, argument: str, fn: Any) -> Any:
    """``fn(array, label)`` on ``value``, or on each array of a list/dict/Nest of them."""
    if isinstance(value, Nest):
        arrays = [None if a is None else fn(a, lb) for a, lb in zip(value.arrays, value.labels)]
        return Nest(arrays, value.keys, value.kind, value.argument)
    if _structure.is_structure(value):
        return _structure.as_nest(value, argument, fn)
    return fn(value, argument)


def check_rows(argument: str, parts: dict[str, Any]) -> None:
    """Every array has the same rows (one message form for plain arrays, as before)."""
    if any(isinstance(value, Nest) for value in parts.values()):
        _structure.check_rows(parts)
    else:
        _data.check_rows(argument, parts)


def sample_weights(y: Any, sample_weight: Any, class_weight: Any, argument: str) -> Any:
    """Per-sample weights: one array, or a Nest of per-output arrays (see ``_data``)."""
    if not _structure.is_structure(y) and not _structure.is_structure(sample_weight):
        return _data.sample_weights(y, sample_weight, class_weight, argument)
    if class_weight is not None:
        raise ValueError(
            "`class_weight` is only supported for models with one output; give per-output "
            f"`sample_weight` instead. Received: class_weight={class_weight!r}"
        )
    if sample_weight is None or not _structure.is_structure(sample_weight):
        return _data.sample_weights(None, sample_weight, None, argument)

    def one(part: Any, label: str) -> Any:
        return _data.sample_weights(None, part, None, label)

    return _structure.as_nest(sample_weight, argument, one)


def built_for(model: Any, x: Any, argument: str) -> Any:
    """Build ``model`` for ``x`` (once) and return ``x``: a one-array list for a model with
    one input as that array; several arrays for a model with one input refused."""
    from gpukeras.models._sequential import Sequential

    expected = getattr(model, "input_shape", None)
    one_input = (isinstance(model, Sequential) and not _first_layer_takes_several(model)) or (
        expected is not None and _structure.is_shape(expected)
    )
    if isinstance(x, Nest) and one_input:
        if len(x.arrays) > 1:
            raise ValueError(
                f"`{argument}` holds {len(x.arrays)} arrays ({', '.join(x.labels)}), but "
                f"model {model.name!r} takes one input. Received: {argument} as a "
                f"{x.kind.__name__}"
            )
        x = x.arrays[0]
    model._ensure_model_built(x.shapes() if isinstance(x, Nest) else tuple(x.shape))
    return x


def _first_layer_takes_several(model: Any) -> bool:
    """Whether a Sequential starts with a model of several inputs (Keras 1's ``Merge``),
    so that it is fed a list of arrays."""
    first = model.layers[0] if model.layers else None
    shape = getattr(first, "input_shape", None)
    return shape is not None and not _structure.is_shape(shape) and len(shape) > 1


def is_multi_output(model: Any) -> bool:
    """Whether the model has several outputs (known once it is built). A one-element list
    or dict of outputs trains as one output, as in Keras."""
    shape = getattr(model, "output_shape", None)
    return shape is not None and not _structure.is_shape(shape) and len(shape) > 1


def single_output_shape(model: Any) -> Any:
    """The output shape of a one-output model (also when its output is a one-element list
    or dict, as a functional ``Model(x, [y])``'s)."""
    shape = model.output_shape
    if shape is None or _structure.is_shape(shape):
        return shape
    return next(iter(shape.values())) if isinstance(shape, dict) else shape[0]


def single_target(model: Any, y: Any) -> Any:
    """``y`` for one output: a one-array list or dict stands for its array; more are
    refused."""
    if not isinstance(y, Nest):
        return y
    if len(y.arrays) > 1:
        raise ValueError(
            f"`{y.argument}` holds {len(y.arrays)} arrays ({', '.join(y.labels)}), but model "
            f"{model.name!r} has one output. Received: {y.argument} as a {y.kind.__name__}"
        )
    return y.arrays[0]


def output_names(model: Any) -> tuple[list[Any], bool]:
    """The outputs' names in flat order and whether the output is a dict.

    A dict output's keys, sorted (Keras 3 flattens a dict so); a list's: a functional
    model's ``output_names``, else ``None`` for each (a subclassed model's outputs have no
    names, so Keras logs the losses' names).
    """
    names, dict_outputs, _shapes = output_layout(model)
    return names, dict_outputs


def output_layout(model: Any) -> tuple[list[Any], bool, list[Any]]:
    """``(names, dict output?, shapes)`` of the outputs in flat order (see output_names).

    The structure comes from a functional model's ``output`` (its KerasTensors), else from
    the output shapes a subclassed model's probe call recorded.
    """
    structure = model.output_shape
    symbolic = _symbolic_outputs(model)
    if symbolic is not None:
        structure = _structure_of_shapes(symbolic)
    if isinstance(structure, dict):  # Keras 3 flattens a dict by its sorted keys
        names = sorted(structure)
        return names, True, [structure[n] for n in names]
    declared = list(getattr(model, "output_names", None) or [])
    shapes = list(structure)
    return (declared if len(declared) == len(shapes) else [None] * len(shapes)), False, shapes


def _symbolic_outputs(model: Any) -> Any:
    """A functional model's outputs as given (KerasTensors in a list or dict), else None."""
    from gpukeras.models.functional import Functional

    return model.output if isinstance(model, Functional) else None


def _structure_of_shapes(outputs: Any) -> Any:
    if isinstance(outputs, dict):
        return {key: tuple(t.shape) for key, t in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return [tuple(t.shape) for t in outputs]
    return [tuple(outputs.shape)]


def heads(model: Any) -> list[OutputHead]:
    """The model's :class:`OutputHead` list for its compile arguments (made once)."""
    if model._output_heads is None:
        names, dict_outputs = output_names(model)
        model._output_heads = output_heads(names, dict_outputs, *model._per_output_compile)
    return model._output_heads


def flatten_output(model: Any) -> Any:
    """``flatten(output) -> list`` in the heads' order."""
    names, dict_outputs = output_names(model)
    count = len(names)

    def flatten(output: Any) -> list[Any]:
        parts = [output[n] for n in names] if dict_outputs else list(output)
        if len(parts) != count:
            raise ValueError(
                f"Model {model.name!r} was built with {count} outputs; this call returned "
                f"{len(parts)}. Received: an output of type {type(output).__name__}"
            )
        return parts

    return flatten


def by_output(model: Any, value: Any, argument: str, required: bool) -> Any:
    """``y`` or ``sample_weight`` of a multi-output model as a Nest in the outputs' order
    (``None`` for an output it leaves out); one array or ``None`` as it is."""
    if value is None or not isinstance(value, Nest):
        if required:
            count = len(heads(model))
            raise ValueError(
                f"`{argument}` must hold one array per output: the model has {count} "
                f"outputs. Give a list or a dict keyed by output name. "
                f"Received: {argument} of type {type(value).__name__}"
            )
        return value
    names = [h.name for h in heads(model)]
    if value.kind is dict:
        unknown = [k for k in value.keys if k not in names]
        if unknown:
            raise ValueError(
                f"`{argument}` is keyed by output name, and the model has no output named "
                f"{unknown[0]!r}. {known_outputs(names)} "
                f"Received: {argument} with keys {value.keys}"
            )
        found = dict(zip(value.keys, value.arrays))
        arrays = [found.get(n) for n in names]
        keys: list[Any] = names
    else:
        if len(value.arrays) != len(names):
            raise ValueError(
                f"`{argument}` needs one array per output: the model has {len(names)} "
                f"outputs. Received: {argument} with {len(value.arrays)} arrays"
            )
        arrays, keys = value.arrays, value.keys
    return Nest(arrays, keys, list, value.argument)


def check_targets(model: Any, y: Nest, sparse: Any) -> Nest:
    """Each output's targets against its shape (see ``_data.check_targets``)."""
    flat = output_layout(model)[2]
    checked = []
    for head, array, shape, label in zip(heads(model), y.arrays, flat, y.labels):
        if array is None and head.loss is not None:
            raise ValueError(f"`{label}` is required: output {head.name!r} has a loss.")
        if array is not None and head.loss is not None:
            array = _data.check_targets(array, shape, sparse(head.loss), label)
        checked.append(array)
    return Nest(checked, y.keys, y.kind, y.argument)


def check_inputs(x: Any, model: Any, argument: str) -> None:
    """Each input's sample shape against the model's (where both are structures alike)."""
    expected = model.input_shape
    if not isinstance(x, Nest):
        if _structure.is_shape(expected):
            _data.check_inputs(x, expected, argument)
        return
    shapes = expected if isinstance(expected, dict) else None
    names = list(getattr(model, "input_names", None) or [])
    if shapes is None and x.kind is dict and len(names) == len(expected or ()):
        shapes = dict(zip(names, expected))  # a dict of data for a list of named Inputs
    for key, array, label in zip(x.keys, x.arrays, x.labels):
        if shapes is not None and key in shapes and _structure.is_shape(shapes[key]):
            _data.check_inputs(array, shapes[key], label)
        elif isinstance(expected, (list, tuple)) and isinstance(key, int) and key < len(expected):
            if _structure.is_shape(expected[key]):
                _data.check_inputs(array, expected[key], label)


def multi_output_step(model: Any, data: Any) -> Any:
    """The :class:`MultiOutputStep` for ``model``, its metrics resolved against the first
    row of each output's targets (``'accuracy'`` picks its kind from them, as in fit)."""
    from gpukeras import backend as K
    from gpukeras import metrics as metrics_module
    from gpukeras.models._compile_outputs import metric_log_names
    from gpukeras.models._multi_step import MultiOutputStep
    from gpukeras.models._stateful_metrics import build_states

    flat_shapes = output_layout(model)[2]
    model_heads = heads(model)
    y = data.y.arrays if isinstance(data.y, Nest) else data.y  # a stream's: a list
    y = y if isinstance(y, list) else [None] * len(model_heads)
    xp = K.array_module()

    def resolve(ids: list[Any], head: Any, y_i: Any, shape: Any) -> list[Any]:
        if not ids:
            return []
        out_probe = xp.zeros((1, *(1 if d is None else d for d in shape[1:])), dtype=K.floatx())
        y_probe = out_probe if y_i is None else K.to_device(y_i[:1])
        found = [
            metrics_module.get(m, loss=head.loss, y_true=y_probe, y_pred=out_probe) for m in ids
        ]
        build_states(found, y_probe, out_probe)  # lazy states exist before a resume
        return found

    plain, weighted = [], []
    for head, y_i, shape in zip(model_heads, y, flat_shapes):
        plain.append(resolve(head.metric_ids, head, y_i, shape))
        weighted.append(resolve(head.weighted_metric_ids, head, y_i, shape))
    log_names = metric_log_names(model_heads, plain, weighted)
    return MultiOutputStep(
        model, model_heads, plain, weighted, log_names, flatten_output(model), model.optimizer
    )
