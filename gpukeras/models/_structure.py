"""Several arrays where Keras takes one: the lists and dicts of a multi-input, multi-output
model's ``x``, ``y`` and ``sample_weight``, and of its outputs.

A :class:`Nest` holds the arrays of one argument in their flat order and how to pack them
back into the user's structure. It answers ``shape`` (its first array's: the rows) and
indexing by rows, so the data pipeline slices, shuffles and batches it like one array:
every array is indexed with the same device indices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy

from gpukeras import backend as K


def is_structure(value: Any) -> bool:
    """Whether ``value`` is a dict, or a list/tuple of arrays (not nested lists of numbers,
    which stay one array as before)."""
    if isinstance(value, dict):
        return True
    if not isinstance(value, (list, tuple)) or not value:
        return False
    return any(isinstance(part, dict) or _is_array(part) for part in value)


def _is_array(value: Any) -> bool:
    return len(getattr(value, "shape", ())) >= 1 and hasattr(value, "dtype")


def leaf_label(argument: str, key: Any) -> str:
    """How a message names one array of a structure: ``x[0]``, ``y['cls']``."""
    return f"{argument}[{key!r}]"


class Nest:
    """The arrays of one structured argument, in flat order.

    Args:
        arrays: The arrays (each with the batch axis first). Required.
        keys: Their list indices or dict keys, in the same order. Required.
        kind: ``list``, ``tuple`` or ``dict``: what :meth:`pack` builds. Required.
        argument: The argument they came from, for messages (``x``, ``validation_data[1]``).
    """

    def __init__(self, arrays: list[Any], keys: list[Any], kind: type, argument: str) -> None:
        self.arrays = list(arrays)
        self.keys = list(keys)
        self.kind = kind
        self.argument = argument

    @property
    def labels(self) -> list[str]:
        return [leaf_label(self.argument, key) for key in self.keys]

    @property
    def shape(self) -> tuple[int, ...]:
        """The first array's shape: its rows are every array's rows."""
        return tuple(next(a for a in self.arrays if a is not None).shape)

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self.arrays if a is not None)

    def __getitem__(self, rows: Any) -> Nest:
        return self.map(lambda a: a[rows])

    def map(self, fn: Callable[[Any], Any]) -> Nest:
        """The Nest of ``fn(array)`` for each array (an output left out stays ``None``)."""
        arrays = [None if a is None else fn(a) for a in self.arrays]
        return Nest(arrays, self.keys, self.kind, self.argument)

    def shapes(self) -> Any:
        """The arrays' shapes in the user's structure (what a model builds from)."""
        return self.map(lambda a: tuple(a.shape)).pack()

    def pack(self) -> Any:
        """The arrays in the user's structure (a list, tuple or dict)."""
        if self.kind is dict:
            return dict(zip(self.keys, self.arrays))
        return self.kind(self.arrays)

    def __repr__(self) -> str:
        return f"Nest({self.argument}: {', '.join(self.labels)})"


def as_nest(value: Any, argument: str, convert: Callable[[Any, str], Any]) -> Nest:
    """``value`` (a list, tuple or dict of arrays) as a :class:`Nest` of ``convert``-ed arrays."""
    if isinstance(value, dict):
        keys = list(value)
        bad = [k for k in keys if not isinstance(k, str)]
        if bad:
            raise TypeError(
                f"`{argument}` as a dict must be keyed by input or output names (str). "
                f"Received: key {bad[0]!r}"
            )
        parts, kind = [value[k] for k in keys], dict
    else:
        keys, parts, kind = list(range(len(value))), list(value), type(value)
        kind = tuple if kind is tuple else list
    if not parts:
        raise ValueError(
            f"`{argument}` is an empty {kind.__name__}. Received: {argument}={value!r}"
        )
    arrays = [convert(part, leaf_label(argument, key)) for key, part in zip(keys, parts)]
    return Nest(arrays, keys, kind, argument)


def flat(value: Any) -> list[Any]:
    """The arrays of ``value``: a Nest's, or ``[value]`` for one array (``[]`` for None)."""
    if value is None:
        return []
    return value.arrays if isinstance(value, Nest) else [value]


def check_rows(parts: dict[str, Any]) -> None:
    """Every array of ``parts`` (``{argument: array, Nest or None}``) has the same rows;
    else an error naming the first that differs and the one it was checked against."""
    named: list[tuple[str, Any]] = []
    for argument, value in parts.items():
        if isinstance(value, Nest):
            named += [(lb, a) for lb, a in zip(value.labels, value.arrays) if a is not None]
        elif value is not None:
            named.append((argument, value))
    if not named:
        return
    first, reference = named[0]
    expected = int(reference.shape[0])
    for label, array in named[1:]:
        rows = int(array.shape[0])
        if rows != expected:
            raise ValueError(
                "All arrays must have the same number of rows (samples). "
                f"Received: {label} with {rows} rows, expected {expected} (rows of {first})"
            )


def step_parts(x: Any, y: Any, sample_weight: Any) -> tuple[Any, Any, Any]:
    """What a step takes: inputs in the user's structure (what ``call()`` receives), and
    per-output targets and weights as lists in the outputs' order; arrays as they are."""
    if isinstance(x, Nest):
        x = x.pack()
    if isinstance(y, Nest):
        y = y.arrays
    if isinstance(sample_weight, Nest):
        sample_weight = sample_weight.arrays
    return x, y, sample_weight


def to_device(value: Any) -> Any:
    """An array or every array of a Nest on the device."""
    if isinstance(value, Nest):
        return value.map(K.to_device)
    return None if value is None else K.to_device(value)


def zeros_like_shapes(shapes: Any, dtype: Any) -> Any:
    """Zeros of each shape in a structure of shapes (the batch axis and unknown axes 1)."""
    xp = K.array_module()

    def zeros(shape: tuple[Any, ...]) -> Any:
        return xp.zeros((1, *(1 if d is None else int(d) for d in shape[1:])), dtype=dtype)

    return map_shapes(zeros, shapes)


def is_shape(value: Any) -> bool:
    """Whether ``value`` is one shape (a tuple of ints and Nones), not a structure of them."""
    return isinstance(value, tuple) and all(d is None or isinstance(d, int) for d in value)


def map_shapes(fn: Callable[[tuple[Any, ...]], Any], shapes: Any) -> Any:
    """``fn`` applied to every shape of a structure of shapes (lists, tuples, dicts)."""
    if is_shape(shapes):
        return fn(shapes)
    if isinstance(shapes, dict):
        return {k: map_shapes(fn, v) for k, v in shapes.items()}
    return type(shapes)(map_shapes(fn, v) for v in shapes)


def batchless(shapes: Any) -> Any:
    """Each shape of a structure with an unknown batch axis (``None``)."""
    return map_shapes(lambda shape: (None, *shape[1:]), shapes)


def as_shapes(shapes: Any) -> Any:
    """A shape as a tuple, or a structure of shapes with each shape a tuple."""
    if isinstance(shapes, dict):
        return {k: as_shapes(v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)) and any(
        isinstance(d, (list, tuple, dict)) for d in shapes
    ):
        return type(shapes)(as_shapes(v) for v in shapes)
    return tuple(shapes)


def output_shapes(output: Any) -> Any:
    """A model output's shape with the batch axis unknown (a structure's: each shape), or
    ``None`` when the output has no shape."""
    if isinstance(output, dict):
        return {k: output_shapes(v) for k, v in output.items()}
    if isinstance(output, (list, tuple)):
        return type(output)(output_shapes(v) for v in output)
    shape = getattr(output, "shape", None)
    return None if shape is None else (None, *tuple(shape)[1:])


def rows(x: Any) -> int:
    """The batch size of inputs: an array's rows, or those of the first array of a
    list/tuple/dict of them."""
    while isinstance(x, (list, tuple, dict)):
        x = next(iter(x.values())) if isinstance(x, dict) else x[0]
    return int(x.shape[0])


def concatenate_to_host(batches: list[Any]) -> Any:
    """The batches' outputs joined along the rows and brought to the host in ONE transfer
    (several outputs of one dtype travel packed in one buffer); a list/dict output stays a
    list/dict (predict's result)."""
    xp = K.array_module()
    first = batches[0]
    if not isinstance(first, (list, tuple, dict)):
        return K.to_host(xp.concatenate(batches) if len(batches) > 1 else first)
    keys = list(first) if isinstance(first, dict) else list(range(len(first)))
    joined = [
        xp.concatenate([b[k] for b in batches]) if len(batches) > 1 else first[k] for k in keys
    ]
    if len({a.dtype for a in joined}) == 1:
        flat = K.to_host(xp.concatenate([a.reshape(-1) for a in joined]))
        ends = numpy.cumsum([a.size for a in joined])[:-1]
        host = [part.reshape(a.shape) for part, a in zip(numpy.split(flat, ends), joined)]
    else:
        host = [K.to_host(a) for a in joined]
    if isinstance(first, dict):
        return dict(zip(keys, host))
    return type(first)(host)
