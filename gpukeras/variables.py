"""Variables: a layer's weights, with their gradients, on the active backend.

``Variable`` is public (``gpukeras.Variable``, Keras's ``keras.Variable``). Its Python
operators go through :mod:`gpukeras.ops`, so ``self.w * x`` inside a ``call()`` is
recorded on the tape; everything else (optimizers, the fused step) keeps using
``.value`` and ``.grad`` directly, in place.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras._operators import ArithmeticOperators
from gpukeras._operators import lazy_ops as _ops


def _initial_value(value: Any, shape: Any, dtype: Any) -> tuple[Any, Any]:
    """The initial value and its dtype, from an array, a Python number or an initializer."""
    if value is None:
        raise ValueError("Variable needs a value or an initializer. Received: value=None")
    if isinstance(value, str) or (callable(value) and not hasattr(value, "shape")):
        from gpukeras import initializers

        if shape is None:
            raise ValueError(
                f"Variable with an initializer needs a shape. Received: initializer={value!r}, "
                "shape=None"
            )
        dtype = numpy.dtype(dtype or K.floatx())
        return initializers.get(value)(tuple(shape), dtype=dtype), dtype
    if dtype is None and not hasattr(value, "dtype"):
        host = numpy.asarray(value)
        dtype = numpy.dtype(K.floatx()) if host.dtype.kind == "f" else None
    return value, dtype


class Variable(ArithmeticOperators):
    """A named weight array that training updates in place.

    ``value`` is an array of the active backend; ``grad`` is filled by the
    owning layer's ``backward``. ``path`` is ``layer_name/name`` like Keras 3.
    Arithmetic (``+ - * / ** @``, comparisons, indexing) goes through ``gpukeras.ops``;
    ``==`` stays identity, so Variables keep working in lists, sets and dicts.
    """

    __slots__ = (
        "name",
        "path",
        "value",
        "grad",
        "trainable",
        "regularizer",
        "constraint",
        "overwrite_with_gradient",
    )
    # NumPy/CuPy arrays defer to our reflected operators (``array * variable``).
    __array_priority__ = 100
    __array_ufunc__ = None

    def __init__(
        self,
        value: Any = None,
        name: str = "variable",
        path: str | None = None,
        trainable: bool = True,
        regularizer: Any = None,
        *,
        initializer: Any = None,
        shape: Any = None,
        dtype: Any = None,
    ) -> None:
        # Keras's spellings too: ``Variable(initializer="zeros", shape=(3,), dtype=...)``,
        # ``Variable(3.0)`` (floatx, not float64).
        array = K.to_device(
            *_initial_value(value if initializer is None else initializer, shape, dtype)
        )
        # C order: layers write gradients into zeros_like(value) with `out=`
        # (``ascontiguousarray`` would also turn a 0-d scalar into shape (1,)).
        self.value = (
            array if array.flags.c_contiguous else K.array_module().ascontiguousarray(array)
        )
        self.name = name
        self.path = path or name
        self.trainable = trainable
        self.regularizer = regularizer
        # Keras's: applied by the optimizer after each update (``v = constraint(v)``).
        self.constraint: Any = None
        # Keras's: the optimizer assigns the gradient itself as the new value.
        self.overwrite_with_gradient = False
        self.grad: Any = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    def numpy(self) -> numpy.ndarray:
        """A host copy of the value."""
        return numpy.array(K.to_host(self.value), copy=True)

    def __array__(self, dtype: Any = None, copy: Any = None) -> numpy.ndarray:
        self._refuse_while_recording("numpy.asarray(variable)")
        return numpy.asarray(K.to_host(self.value), dtype=dtype)

    def __float__(self) -> float:
        self._refuse_while_recording("float(variable)")
        return float(K.to_host(self.value))

    def __int__(self) -> int:
        self._refuse_while_recording("int(variable)")
        return int(K.to_host(self.value))

    def _refuse_while_recording(self, what: str) -> None:
        from gpukeras.autodiff import is_recording

        if is_recording():
            from gpukeras.autodiff import TracedValueError, current_scope

            where = f"layer {current_scope()!r}: " if current_scope() else ""
            raise TracedValueError(
                f"{where}{what} reads variable {self.path!r} on the host while a gradient "
                "is being recorded, which would stop the device every batch. Use "
                "`gpukeras.ops` on the variable instead."
            )

    def assign(self, value: Any) -> None:
        """Overwrite the value, checking the shape.

        Written in place, except while a tape records and a recorded op has read this
        variable (its gradient needs the value it read): a non-trainable variable (a
        moving statistic) then gets a fresh array, and a trainable one, whose storage
        the optimizer owns, refuses the write.
        """
        from gpukeras.autodiff import unwrap
        from gpukeras.autodiff._state import active

        new = K.to_device(unwrap(value), dtype=self.value.dtype)
        if tuple(new.shape) != self.shape:
            raise ValueError(
                f"Cannot assign to variable {self.path!r}: expected shape {self.shape}. "
                f"Received: value with shape {tuple(new.shape)}"
            )
        if active and self._read_by_a_recorded_op():
            self._refuse_if_trainable()
            self.value = K.array_module().array(new, copy=True)
            return
        self.value[...] = new

    def assign_add(self, value: Any) -> None:
        """``value`` added in place."""
        from gpukeras.autodiff import unwrap

        self.assign(self.value + K.to_device(unwrap(value), dtype=self.value.dtype))

    def assign_sub(self, value: Any) -> None:
        """``value`` subtracted in place."""
        from gpukeras.autodiff import unwrap

        self.assign(self.value - K.to_device(unwrap(value), dtype=self.value.dtype))

    def _read_by_a_recorded_op(self) -> bool:
        from gpukeras.autodiff._state import active

        return any(id(self) in tape._read for tape in active)

    def _refuse_if_trainable(self) -> None:
        if self.trainable:
            from gpukeras.autodiff import TracedValueError, current_scope

            where = f"layer {current_scope()!r}: " if current_scope() else ""
            raise TracedValueError(
                f"{where}in-place write to a traced value: variable {self.path!r} was read "
                "by an op recorded on this tape, and its gradient needs the value it read. "
                "Assign after computing the gradients (or outside the tape)."
            )

    # Operators: each is one op of gpukeras.ops, so it records like any other.

    def __pos__(self) -> Any:
        return _ops().convert_to_tensor(self)

    def __repr__(self) -> str:
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype}>"
