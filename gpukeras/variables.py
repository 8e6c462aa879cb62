"""Variables: a layer's weights, with their gradients, on the active backend."""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K


class Variable:
    """A named weight array that training updates in place.

    ``value`` is an array of the active backend; ``grad`` is filled by the
    owning layer's ``backward``. ``path`` is ``layer_name/name`` like Keras 3.
    """

    __slots__ = ("name", "path", "value", "grad", "trainable", "regularizer")

    def __init__(
        self,
        value: Any,
        name: str,
        path: str | None = None,
        trainable: bool = True,
        regularizer: Any = None,
    ) -> None:
        # C order: layers write gradients into zeros_like(value) with `out=`.
        self.value = K.array_module().ascontiguousarray(K.to_device(value))
        self.name = name
        self.path = path or name
        self.trainable = trainable
        self.regularizer = regularizer
        self.grad: Any = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    def numpy(self) -> numpy.ndarray:
        """A host copy of the value."""
        return numpy.array(K.to_host(self.value), copy=True)

    def assign(self, value: Any) -> None:
        """Overwrite the value in place, checking the shape."""
        new = K.to_device(value, dtype=self.value.dtype)
        if tuple(new.shape) != self.shape:
            raise ValueError(
                f"Cannot assign to variable {self.path!r}: expected shape {self.shape}. "
                f"Received: value with shape {tuple(new.shape)}"
            )
        self.value[...] = new

    def __repr__(self) -> str:
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype}>"
