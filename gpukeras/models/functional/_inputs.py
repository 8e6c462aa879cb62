"""The data a functional model is called on, matched to its Inputs and checked, as Keras.

Data may come in the structure of ``model.input``, as a list in input order, or as a dict
keyed by input name (nested dicts for nested dict inputs). Each array is then:

- put on the device in its Input's dtype (Keras converts: float64 NumPy data meets a
  float32 Input as float32);
- brought to its Input's rank when one trailing axis of size 1 is missing or extra
  (Keras's rank standardization);
- checked against the Input's known axes, with Keras's message naming the input and both
  shapes, before any layer sees it.
"""

from __future__ import annotations

import warnings
from typing import Any

from gpukeras import backend as K
from gpukeras.layers._keras_tensor import KerasTensor, flatten


def flat_inputs(model: Any, inputs: Any) -> list[Any]:
    """The input values in the order of ``model.inputs``, standardized and checked."""
    expected = model._graph.inputs
    flat = _match(model, model._inputs_struct, inputs)
    if len(flat) != len(expected):
        raise ValueError(
            f"Model {model.name!r} expects {len(expected)} input(s) "
            f"({[t.name for t in expected]}). Received: {len(flat)} input array(s)"
        )
    return [_standardized(model, i, t, v) for i, (t, v) in enumerate(zip(expected, flat))]


def _match(model: Any, struct: Any, given: Any) -> list[Any]:
    if isinstance(given, dict):
        return _from_dict(model, struct, given)
    if isinstance(struct, dict):
        raise ValueError(
            f"The structure of `inputs` doesn't match the expected structure: model "
            f"{model.name!r} expects named input(s) with keys {list(struct)}. Received: "
            f"{type(given).__name__}"
        )
    if _several_arrays(given):
        return flatten(given)
    return [given]


def _several_arrays(given: Any) -> bool:
    """A list/tuple of arrays (several inputs), not nested Python numbers (one input)."""
    return isinstance(given, (list, tuple)) and bool(given) and all(map(_holds_arrays, given))


def _holds_arrays(value: Any) -> bool:
    if hasattr(value, "shape"):
        return True
    leaves = flatten(value) if isinstance(value, (list, tuple, dict)) else []
    return bool(leaves) and all(hasattr(leaf, "shape") for leaf in leaves)


def _from_dict(model: Any, struct: Any, given: dict) -> list[Any]:
    if not isinstance(struct, dict):  # a list (or one) of inputs, given by name
        names = [t.name for t in flatten(struct)]
        _warn_extra(given, names)
        return [_take(model, given, name) for name in names]
    found: list[Any] = []
    for key, inner in struct.items():
        value = _take(model, given, key)
        found += _from_dict(model, inner, value) if isinstance(inner, dict) else [value]
    _warn_extra(given, list(struct))
    return found


def _take(model: Any, given: dict, key: str) -> Any:
    if key not in given:
        raise ValueError(
            f"Model {model.name!r}: no data for input(s) [{key!r}]. Received: keys {sorted(given)}"
        )
    return given[key]


def _warn_extra(given: dict, names: list[str]) -> None:
    extra = sorted(set(given) - set(names))
    if extra:
        warnings.warn(
            f"The structure of `inputs` doesn't match the expected structure: the keys "
            f"{extra} are not inputs of the model and are ignored. Expected: {names}",
            stacklevel=5,
        )


def _standardized(model: Any, index: int, tensor: KerasTensor, value: Any) -> Any:
    if isinstance(value, KerasTensor):
        return value
    if not hasattr(value, "value"):  # a traced Tensor or a Variable stays as is
        value = K.to_device(value, dtype=tensor.dtype)
    rank, expected = len(value.shape), len(tensor.shape)
    if rank == expected + 1 and value.shape[-1] == 1:
        value = value.reshape(tuple(value.shape[:-1]))
    elif rank == expected - 1 and tensor.shape[-1] == 1:
        value = value.reshape((*value.shape, 1))
    found = tuple(int(d) for d in value.shape)
    if len(found) != expected or any(d is not None and d != f for d, f in zip(tensor.shape, found)):
        raise ValueError(
            f'Input {index} (name {tensor.name!r}) of layer "{model.name}" is incompatible '
            f"with the layer: expected shape={tensor.shape}, found shape={found}"
        )
    return value
