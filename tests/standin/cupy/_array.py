"""The stand-in ``cupy.ndarray``: a NumPy array NumPy itself refuses to touch.

Each instance wraps a host ``numpy.ndarray`` (``_a``). Arithmetic, methods and indexing run
NumPy on it and wrap the results (0-d results stay arrays, as CuPy's do). What real CuPy
refuses is refused here with a ``TypeError``: a host ``numpy.ndarray`` met in an operation,
NumPy functions or ufuncs given a device array, ``numpy.asarray(device_array)``, attributes
``cupy.ndarray`` lacks. Reads back to the host (``get``, ``item``, ``float``...) are allowed,
as in CuPy, and counted with their call site (:mod:`._host_reads`).
"""

from __future__ import annotations

import copy as _copy
import operator
import weakref
from typing import Any

import numpy

from cupy import _names
from cupy._host_reads import record

_NDARRAY_NAMES = frozenset(_names.NDARRAY)


#: NumPy functions that only read an array's metadata, allowed on device arrays.
_METADATA_FUNCTIONS = frozenset({"shape", "ndim", "size"})


class HostDeviceMixError(TypeError):
    """A host array met a device array where real CuPy raises."""


def refuse_host(value: Any, where: str) -> None:
    raise HostDeviceMixError(
        f"Unsupported type {type(value)} in {where}: a host numpy.ndarray met a device "
        "array (real CuPy raises here). Move it with backend.to_device first."
    )


def unwrap(value: Any, where: str = "a CuPy operation") -> Any:
    """The NumPy value behind ``value``; host arrays are refused, containers are searched."""
    if type(value) is ndarray:
        return value._a
    if isinstance(value, numpy.ndarray):
        refuse_host(value, where)
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(item, where) for item in value)
    return value


def wrap(value: Any) -> Any:
    """NumPy results as device arrays (scalars as 0-d arrays, like CuPy's reductions)."""
    if isinstance(value, numpy.ndarray):
        return ndarray._of(value)
    if isinstance(value, numpy.generic):
        return ndarray._of(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(wrap(item) for item in value)
    if isinstance(value, list):
        return [wrap(item) for item in value]
    return value


def _index(key: Any) -> Any:
    # Index arrays may come from the host (CuPy copies them over) or the device.
    if type(key) is ndarray:
        return key._a
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    return key


class _MemoryPointer:
    def __init__(self, array: numpy.ndarray) -> None:
        self.ptr = array.ctypes.data
        self.device_id = 0


def _unsupported(dtype: numpy.dtype) -> bool:
    """Objects, strings, datetimes, long doubles; ml_dtypes' bfloat16 (kind V) CuPy 14 has."""
    if dtype.name == "bfloat16":
        return False
    too_long = (dtype.kind == "f" and dtype.itemsize > 8) or dtype.itemsize > 16
    return dtype.kind in "OUSVMm" or too_long


_WRAPPERS: weakref.WeakValueDictionary[int, ndarray] = weakref.WeakValueDictionary()


class ndarray:  # noqa: N801 - CuPy's name
    """See the module docstring."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100.0

    def __init__(self, shape: Any, dtype: Any = float, memptr: Any = None, strides: Any = None,
                 order: str = "C") -> None:  # fmt: skip
        self._a = ndarray._of(numpy.empty(shape, dtype=dtype, order=order))._a

    @classmethod
    def _of(cls, array: numpy.ndarray) -> ndarray:
        if _unsupported(array.dtype):
            raise TypeError(f"Unsupported dtype {array.dtype}: CuPy has no such device arrays")
        # One wrapper per NumPy array while it lives, so ``a.base is b`` holds as in CuPy.
        self = _WRAPPERS.get(id(array))
        if self is None or self._a is not array:
            self = cls.__new__(cls)
            self._a = array
            _WRAPPERS[id(array)] = self
        return self

    # -- what NumPy must not do with a device array ----------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly."
        )

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        raise HostDeviceMixError(
            f"numpy.{ufunc.__name__} was given a device array: use the backend's array module "
            "(xp) instead of numpy for device arrays"
        )

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        # Metadata reads never touch the data: CuPy answers numpy.shape/ndim/size too.
        if func.__name__ in _METADATA_FUNCTIONS and len(args) == 1 and not kwargs:
            return getattr(self._a, func.__name__)
        raise HostDeviceMixError(
            f"numpy.{func.__name__} was given a device array: use the backend's array module "
            "(xp) instead of numpy for device arrays"
        )

    # -- host reads (allowed, counted) ----------------------------------------------------
    def get(self, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True):
        record("get")
        if out is not None:
            out[...] = self._a
            return out
        return numpy.array(self._a, order=order, copy=True)

    def item(self, *args: Any) -> Any:
        record("item")
        return self._a.item(*args)

    def tolist(self) -> Any:
        record("tolist")
        return self._a.tolist()

    def tobytes(self, order: str = "C") -> bytes:
        record("tobytes")
        return self._a.tobytes(order)

    def __float__(self) -> float:
        record("float")
        return float(self._a)

    def __int__(self) -> int:
        record("int")
        return int(self._a)

    def __bool__(self) -> bool:
        record("bool")
        return bool(self._a)

    def __complex__(self) -> complex:
        record("complex")
        return complex(self._a)

    def __index__(self) -> int:
        record("index")
        return operator.index(self._a)

    def __repr__(self) -> str:
        record("repr")
        return repr(self._a)

    def __str__(self) -> str:
        record("str")
        return str(self._a)

    def __format__(self, spec: str) -> str:
        record("format")
        return format(self._a, spec)

    def __reduce__(self) -> Any:
        record("pickle")
        return (ndarray._of, (self._a.copy(),))

    # -- plain attributes ---------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray._of(self._a.T))
    mT = property(lambda self: ndarray._of(self._a.mT))
    data = property(lambda self: _MemoryPointer(self._a))
    base = property(lambda self: None if self._a.base is None else ndarray._of(self._a.base))

    @property
    def real(self) -> ndarray:
        return ndarray._of(self._a.real)

    @property
    def imag(self) -> ndarray:
        return ndarray._of(self._a.imag)

    @property
    def device(self) -> Any:
        from cupy.cuda import Device

        return Device(0)

    def set(self, arr: Any, stream: Any = None) -> None:
        """Copy a host array in (allowed: host to device)."""
        self._a[...] = arr

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        for row in range(len(self._a)):
            yield wrap(self._a[row])

    def __getitem__(self, key: Any) -> Any:
        return wrap(self._a[_index(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        # A host value is a host-to-device copy, which CuPy allows.
        self._a[_index(key)] = value._a if type(value) is ndarray else value

    def __copy__(self) -> ndarray:
        return ndarray._of(self._a.copy())

    def __deepcopy__(self, memo: Any) -> ndarray:
        return ndarray._of(_copy.deepcopy(self._a, memo))

    __hash__ = None  # type: ignore[assignment]

    def astype(self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None,
               copy: bool = True) -> ndarray:  # fmt: skip
        kwargs = {} if casting is None else {"casting": casting}
        return ndarray._of(self._a.astype(dtype, order=order, copy=copy, **kwargs))

    def __getattr__(self, name: str) -> Any:
        if name not in _NDARRAY_NAMES:
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        method = getattr(self._a, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            where = f"cupy.ndarray.{name}"
            kwargs = {k: unwrap(v, where) for k, v in kwargs.items()}
            return wrap(method(*unwrap(args, where), **kwargs))

        return call if callable(method) else wrap(method)


def _binary(name: str, reflected: bool = False, inplace: bool = False):
    function = getattr(operator, name)

    def op(self: ndarray, other: Any) -> Any:
        if isinstance(other, numpy.ndarray):
            refuse_host(other, f"the operator {name}")
        if not isinstance(other, (ndarray, int, float, complex, bool, numpy.generic)):
            return NotImplemented
        value = other._a if type(other) is ndarray else other
        if inplace:
            function(self._a, value)
            return self
        return wrap(function(value, self._a) if reflected else function(self._a, value))

    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_",
              "xor", "lshift", "rshift"):  # fmt: skip
    _plain = _name.rstrip("_")
    setattr(ndarray, f"__{_plain}__", _binary(_name))
    setattr(ndarray, f"__r{_plain}__", _binary(_name, reflected=True))
    setattr(ndarray, f"__i{_plain}__", _binary(f"i{_plain}", inplace=True))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_name}__", _binary(_name))


def _unary(function):
    return lambda self: wrap(function(self._a))


for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", _unary(getattr(operator, _name)))
