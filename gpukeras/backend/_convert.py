"""``convert_to_tensor`` and ``name_scope``: Keras's backend entry points for values and names."""

from __future__ import annotations

import threading
from typing import Any

import numpy

from gpukeras.backend._dtype import floatx
from gpukeras.backend._select import is_device_array
from gpukeras.backend._transfer import to_device

_scopes = threading.local()


def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None) -> Any:
    """``x`` as an array of the active backend (Keras's ``backend.convert_to_tensor``).

    A ``keras.Variable`` gives its value. Python numbers and lists take Keras's default dtypes
    (floats become ``floatx()``, ints int32), arrays keep theirs, ``dtype`` overrides both.
    """
    if sparse or ragged:
        raise ValueError(
            f"gpukeras has no sparse or ragged tensors. Received: sparse={sparse}, ragged={ragged}"
        )
    value = getattr(x, "value", x) if _is_variable(x) else x
    if dtype is None and not (isinstance(value, numpy.ndarray) or is_device_array(value)):
        host = numpy.asarray(value)
        if host.dtype.kind == "f":
            dtype = floatx()
        elif host.dtype.kind in "iu" and host.dtype.itemsize == 8:
            dtype = "int32"
        value = host
    return to_device(value, dtype)


def _is_variable(x: Any) -> bool:
    from gpukeras.variables import Variable

    return isinstance(x, Variable)


class name_scope:  # noqa: N801 - Keras's spelling
    """A naming scope (Keras's ``backend.name_scope``): ``current_path()`` joins the open ones
    with ``/``. gpukeras names weights itself; this keeps Keras code that opens scopes working."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string. Received: name={name!r}")
        self.name = name

    def __enter__(self) -> name_scope:
        _stack().append(self.name)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _stack().pop()


def _stack() -> list[str]:
    if not hasattr(_scopes, "stack"):
        _scopes.stack = []
    return _scopes.stack


def current_path() -> str:
    """The open :class:`name_scope` names joined with ``/`` (``''`` outside any)."""
    return "/".join(_stack())
