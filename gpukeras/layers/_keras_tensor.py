"""KerasTensor: a symbolic tensor of the functional API, and the structures that hold them.

``keras.Input(...)`` returns one; calling a layer or an op on KerasTensors returns more.
A KerasTensor computes nothing: it carries a shape (batch axis first, ``None`` where
unknown), a dtype and ``_keras_history`` = ``(operation, node_index, tensor_index)``, the
node that made it (see ``_node``). ``gpukeras.models.Model(inputs, outputs)`` walks those
histories back to build the graph.

Inputs and outputs of layers may be one tensor, a list/tuple or a dict of them (nested):
:func:`flatten` and :func:`pack_like` move between a structure and its leaves.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from gpukeras._operators import ArithmeticOperators

Shape = tuple[Any, ...]

KerasHistory = namedtuple("KerasHistory", ["operation", "node_index", "tensor_index"])


class KerasTensor(ArithmeticOperators):
    """A symbolic tensor: ``shape`` (with the batch axis), ``dtype``, ``name``.

    Python's operators (``x * 2``, ``a + b``, ``x[:, 0]``) record ``gpukeras.ops`` nodes,
    as in Keras. Equality and hashing are by identity (a graph keys tensors by them).
    """

    __slots__ = ("shape", "dtype", "name", "sparse", "_keras_history", "__weakref__")

    def __init__(self, shape: Shape, dtype: Any = "float32", name: str | None = None) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = _dtype_name(dtype)
        self.name = name
        self.sparse = False
        self._keras_history: KerasHistory | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def input_layer(self) -> Any:
        """The InputLayer this tensor comes from (``Sequential.add(Input(...))`` uses it)."""
        from gpukeras.layers._input import InputLayer

        operation = self._keras_history.operation if self._keras_history else None
        if not isinstance(operation, InputLayer):
            raise AttributeError(
                f"KerasTensor {self.name!r} is not an Input: it is the output of "
                f"{getattr(operation, 'name', None)!r}"
            )
        return operation

    def __getitem__(self, key: Any) -> Any:
        from gpukeras.ops._symbolic import symbolic_getitem

        return symbolic_getitem(self, key)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: Any) -> bool:
        return self is other

    def __bool__(self) -> bool:
        raise TypeError(
            f"A symbolic KerasTensor has no truth value: it holds no data. Received: {self!r}"
        )

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "A KerasTensor is a symbolic placeholder of the functional API, not an array: "
            "use it to call layers or gpukeras.ops, then build a keras.Model(inputs, "
            f"outputs) and call that on data. Received: {self!r}"
        )

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


def _dtype_name(dtype: Any) -> str:
    import numpy

    if dtype is None:
        from gpukeras import backend as K

        return K.floatx()
    return str(numpy.dtype(dtype)) if not isinstance(dtype, str) else dtype


# -- structures of tensors (one tensor, lists/tuples, dicts; nested) ----------
def flatten(structure: Any) -> list[Any]:
    """The leaves of ``structure`` in order (dicts by their keys' insertion order)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for item in structure.values() for leaf in flatten(item)]
    return [structure]


def pack_like(structure: Any, leaves: list[Any]) -> Any:
    """``structure`` with its leaves replaced, in order, by ``leaves``."""
    iterator = iter(leaves)
    return _pack(structure, iterator)


def _pack(structure: Any, leaves: Any) -> Any:
    if isinstance(structure, (list, tuple)):
        packed = [_pack(item, leaves) for item in structure]
        return packed if isinstance(structure, list) else tuple(packed)
    if isinstance(structure, dict):
        return {key: _pack(item, leaves) for key, item in structure.items()}
    return next(leaves)


def map_structure(function: Any, structure: Any) -> Any:
    """``structure`` with ``function`` applied to each leaf."""
    return pack_like(structure, [function(leaf) for leaf in flatten(structure)])


def is_symbolic(structure: Any) -> bool:
    """Whether ``structure`` holds a KerasTensor (the cheap checks first)."""
    if type(structure) is KerasTensor:
        return True
    if isinstance(structure, (list, tuple, dict)):
        return any(type(leaf) is KerasTensor for leaf in flatten(structure))
    return False
