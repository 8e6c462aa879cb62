"""``Tensor``: a value recorded on a tape, with Python's operators going through ``ops``.

A Tensor exists only while something records: ops return plain arrays otherwise. It
holds the forward value and the node that made it; reading it on the host while
recording (``float``, ``bool``, ``int``, ``__array__``) is refused, because inside a
training step that would be a device-to-host sync per batch.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras._operators import ArithmeticOperators
from gpukeras._operators import lazy_ops as _ops
from gpukeras.autodiff import _state
from gpukeras.autodiff._errors import TracedValueError
from gpukeras.autodiff._scope import where


class Tensor(ArithmeticOperators):
    """A traced value: ``.value`` is the array, ``._node`` how it was computed."""

    __slots__ = ("value", "_node", "__weakref__")
    # Make NumPy and CuPy arrays defer to our reflected operators (``array * tensor``).
    __array_priority__ = 100
    __array_ufunc__ = None
    __hash__ = None  # type: ignore[assignment]  # == is elementwise, as in Keras

    def __init__(self, value: Any, node: Any = None) -> None:
        self.value = value
        self._node = node

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return int(self.value.size)

    @property
    def T(self) -> Any:  # noqa: N802 - NumPy's name
        return _ops().transpose(self)

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self) -> Any:
        for i in range(len(self.value)):
            yield self[i]

    def numpy(self) -> numpy.ndarray:
        """A host copy of the value (refused while recording)."""
        self._refuse_host_read("numpy()")
        from gpukeras.backend import to_host

        return numpy.array(to_host(self.value), copy=True)

    def _refuse_host_read(self, what: str) -> None:
        if _state.is_recording():
            op = self._node.op if self._node is not None else "watch"
            scope_name = self._node.scope if self._node is not None else None
            raise TracedValueError(
                f"{where(op, scope_name)}: {what} reads a traced value on the host while a "
                "gradient is being recorded, which would stop the device every batch. Keep "
                "the computation in `gpukeras.ops` (for example `ops.where` instead of an "
                f"`if` on a value). Received: a Tensor of shape {self.shape}"
            )

    def _host_scalar(self, what: str) -> Any:
        self._refuse_host_read(what)
        from gpukeras.backend import to_host

        return to_host(self.value)

    def __float__(self) -> float:
        return float(self._host_scalar("float(tensor)"))

    def __int__(self) -> int:
        return int(self._host_scalar("int(tensor)"))

    def __index__(self) -> int:
        return int(self._host_scalar("using a tensor as an index"))

    def __bool__(self) -> bool:
        return bool(self._host_scalar("bool(tensor) (an `if` on a tensor)"))

    def __array__(self, dtype: Any = None, copy: Any = None) -> numpy.ndarray:
        host = self._host_scalar("numpy.asarray(tensor)")
        return numpy.asarray(host, dtype=dtype)

    def __setitem__(self, key: Any, value: Any) -> None:
        op = self._node.op if self._node is not None else "watch"
        scope_name = self._node.scope if self._node is not None else None
        raise TracedValueError(
            f"{where(op, scope_name)}: in-place write to a traced value (tensor[...] = ...). "
            "Gradients need the value as it was computed; build a new tensor instead, e.g. "
            "with `ops.where` or `ops.concatenate`. "
            f"Received: a write to a Tensor of shape {self.shape}"
        )

    def __repr__(self) -> str:
        return f"<Tensor shape={self.shape} dtype={self.dtype} op={self._op_name()!r}>"

    def _op_name(self) -> str:
        return self._node.op if self._node is not None else "watch"

    # Operators: each is one op, so it records like any other.

    def __pos__(self) -> Any:
        return self

    def __invert__(self) -> Any:
        return _ops().logical_not(self)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return _ops().equal(self, other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return _ops().not_equal(self, other)

    def __and__(self, other: Any) -> Any:
        return _ops().logical_and(self, other)

    def __or__(self, other: Any) -> Any:
        return _ops().logical_or(self, other)

    def reshape(self, *shape: Any) -> Any:
        return _ops().reshape(self, shape[0] if len(shape) == 1 else shape)

    def astype(self, dtype: Any) -> Any:
        return _ops().cast(self, dtype)
