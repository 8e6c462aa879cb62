"""Read the pickled parts of Keras's data set files without letting the pickle build anything.

IMDB and Reuters store ragged sequences as ``dtype=object`` arrays inside their
``.npz`` files, which NumPy can only write as a pickle stream; the CIFAR files
are pickled dicts of NumPy arrays. ``np.load(allow_pickle=True)`` or a plain
``pickle.load`` would execute whatever a tampered file asks for, and even
NumPy's own array constructors are unsafe here: a 54-byte pickle can build an
object array whose pointers are attacker bytes (a segfault when read), or
claim gigabytes.

So the three NumPy names an array pickle uses (``_reconstruct``, ``ndarray``
and ``dtype``, under NumPy 1's and 2's module names) are answered with inert
stand-ins that only record what the pickle says: a dtype string, a shape and
the data (bytes, or a list of plain values for an object array). Everything
else is refused. After unpickling, :func:`load_pickle` builds each array
itself from plain, checked values: a known numeric dtype, a sane shape, and
exactly as many bytes (or items) as the shape needs.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np

# dtype strings the data set files use (and any plain numeric ones): no void,
# string, datetime or structured dtypes, whose itemsize can be zero or whose
# values are not numbers.
_NUMERIC_CODES = frozenset(
    f"{kind}{size}"
    for kind, sizes in (("u", "1248"), ("i", "1248"), ("f", "248"))
    for size in sizes
) | {"b1"}
_OBJECT_CODES = frozenset({"O4", "O8"})
_BYTE_ORDERS = {"<": "<", ">": ">", "|": "|", "=": "="}
_MAX_RANK = 32
_MAX_DEPTH = 64
# What one pickle may hold: IMDB's splits have 25,000 lists and ~6 million words each.
MAX_NESTED_VALUES = 200_000
MAX_LIST_ITEMS = 50_000_000
_PLAIN = (int, float, bool, str, bytes, type(None))


class _Inert:
    """The stand-in for ``numpy.ndarray``: passed to ``_reconstruct``, never called."""

    __slots__ = ()  # no __dict__: a pickle's BUILD cannot write onto this shared object

    def __repr__(self) -> str:
        return "numpy.ndarray"


_NDARRAY = _Inert()


class _DtypePlan:
    """What a pickle says about a dtype: its code ('u1', 'O8'...) and its byte order."""

    code = ""  # class defaults: NEWOBJ can make an instance without __init__
    order = "|"

    def __init__(self, code: Any, align: Any = False, copy: Any = True) -> None:
        if not isinstance(code, (str, bytes)):
            raise pickle.UnpicklingError(f"Invalid dtype in the pickle: {code!r:.80}")
        self.code = code.decode("latin1") if isinstance(code, bytes) else code
        self.order = "|"

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 2:
            raise pickle.UnpicklingError(f"Invalid dtype state in the pickle: {state!r:.80}")
        order = state[1].decode("latin1") if isinstance(state[1], bytes) else state[1]
        if order not in _BYTE_ORDERS or (len(state) > 3 and state[3] is not None):
            raise pickle.UnpicklingError(f"Unsupported dtype in the pickle: {state!r:.80}")
        self.order = order

    def dtype(self) -> np.dtype:
        if self.code not in _NUMERIC_CODES | _OBJECT_CODES:
            raise pickle.UnpicklingError(
                f"Refusing dtype {self.code!r} in a data set file: only plain numbers "
                "and lists are accepted."
            )
        return np.dtype(self.code).newbyteorder(self.order if self.order != "|" else "=")


class ArrayPlan:
    """What a pickle says about an array: shape, dtype, order and raw data, unchecked."""

    state: Any = None

    def __init__(self, *args: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def build(self, walk: _Walk | None = None, depth: int = 0) -> np.ndarray:
        """The array, built by us after every field was checked."""
        state = self.state
        if not isinstance(state, tuple) or len(state) != 5:
            raise pickle.UnpicklingError(f"Invalid array state in the pickle: {state!r:.80}")
        _, shape, dtype_plan, fortran, data = state
        if not isinstance(dtype_plan, _DtypePlan):
            raise pickle.UnpicklingError("Invalid array in the pickle: no dtype")
        shape = _checked_shape(shape)
        dtype, count = dtype_plan.dtype(), math.prod(shape)
        order = "F" if fortran else "C"
        if dtype.kind == "O":
            items = _checked_items(data, count, walk or _Walk(), depth)
            array = np.empty(count, dtype=object)
            array[:] = items if count else []
            return array.reshape(shape, order=order)
        raw = data.encode("latin1") if isinstance(data, str) else data
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != count * dtype.itemsize:
            raise pickle.UnpicklingError(
                f"Invalid array in the pickle: shape {shape} of {dtype} needs "
                f"{count * dtype.itemsize} bytes; the pickle holds "
                f"{len(raw) if isinstance(raw, (bytes, bytearray)) else type(raw).__name__}."
            )
        return np.frombuffer(bytes(raw), dtype=dtype).reshape(shape, order=order).copy()


def _checked_shape(shape: Any) -> tuple[int, ...]:
    if (
        not isinstance(shape, tuple)
        or len(shape) > _MAX_RANK
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise pickle.UnpicklingError(f"Invalid array shape in the pickle: {shape!r:.80}")
    return shape


def _checked_items(data: Any, count: int, walk: _Walk, depth: int) -> list[Any]:
    if not isinstance(data, list) or len(data) != count:
        raise pickle.UnpicklingError(
            f"Invalid object array in the pickle: {count} items expected, found "
            f"{len(data) if isinstance(data, list) else type(data).__name__}."
        )
    return [plain_value(item, walk, depth + 1) for item in data]


class _Walk:
    """Counts what :func:`plain_value` visits: a pickle can share one list many
    times over (``[L, L]`` with ``L = [M, M]``...), so a few hundred bytes could
    otherwise ask for 2**60 visits."""

    def __init__(self) -> None:
        self.calls, self.items = MAX_NESTED_VALUES, MAX_LIST_ITEMS

    def visit(self, items: int = 0) -> None:
        self.calls -= 1
        self.items -= items
        if self.calls < 0 or self.items < 0:
            raise pickle.UnpicklingError(
                f"The pickle holds more than {MAX_NESTED_VALUES} nested values or "
                f"{MAX_LIST_ITEMS} list items (or shares one list many times over); "
                "refusing it."
            )


def plain_value(value: Any, walk: _Walk | None = None, depth: int = 0) -> Any:
    """``value`` with every array stand-in built; anything not plain is refused."""
    walk = walk or _Walk()
    walk.visit(len(value) if isinstance(value, list) else 0)
    if depth > _MAX_DEPTH:
        raise pickle.UnpicklingError("The pickle is nested too deeply.")
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, ArrayPlan):
        return value.build(walk, depth)
    if isinstance(value, list):
        if all(isinstance(item, _PLAIN) for item in value):  # a sequence of word indices
            return value
        return [plain_value(item, walk, depth + 1) for item in value]
    if isinstance(value, tuple):
        return tuple(plain_value(item, walk, depth + 1) for item in value)
    if isinstance(value, dict):
        return {
            plain_value(key, walk, depth + 1): plain_value(item, walk, depth + 1)
            for key, item in value.items()
        }
    raise pickle.UnpicklingError(
        f"Refusing a {type(value).__name__} in a data set file: only arrays of numbers "
        "and plain Python values are accepted."
    )


_STAND_INS = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypePlan,
    ("numpy.core.multiarray", "_reconstruct"): ArrayPlan,
    ("numpy._core.multiarray", "_reconstruct"): ArrayPlan,
}


class _StandInUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        stand_in = _STAND_INS.get((module, name))
        if stand_in is not None:
            return stand_in
        raise pickle.UnpicklingError(
            f"Refusing to load `{module}.{name}` from a data set file: only NumPy arrays "
            "and plain Python values are accepted. The file may be corrupted or malicious."
        )


def load_raw_pickle(stream: Any, encoding: str = "ASCII") -> Any:
    """Unpickle ``stream`` with NumPy names answered by stand-ins (:class:`ArrayPlan`)."""
    try:
        return _StandInUnpickler(stream, encoding=encoding).load()
    except pickle.UnpicklingError:
        raise
    except (EOFError, RecursionError, MemoryError) as error:
        raise pickle.UnpicklingError(f"{type(error).__name__}: {error}") from None
    except Exception as error:  # a malformed stream: the opcodes' own type/value errors
        raise pickle.UnpicklingError(f"Malformed pickle: {type(error).__name__}: {error}") from None


def load_pickle(stream: Any, encoding: str = "ASCII") -> Any:
    """Unpickle ``stream`` allowing only arrays of numbers and plain values, built by us.

    ``encoding='bytes'`` reads Python 2 pickles (the CIFAR files) with their
    strings left as ``bytes``.
    """
    return plain_value(load_raw_pickle(stream, encoding))
