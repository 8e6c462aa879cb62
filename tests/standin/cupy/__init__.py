"""A strict CuPy stand-in for tests (never shipped): host/device discipline and dtype rules.

With ``GPUKERAS_CUPY_STANDIN=1`` the test suite puts this package first on ``sys.path`` so that
``GPUKERAS_BACKEND=cupy`` selects it on a machine without a GPU. It checks what real CuPy
would refuse and NumPy silently accepts:

- its ``ndarray`` is foreign to NumPy: NumPy functions and ufuncs given one, and
  ``numpy.asarray(device_array)``, raise; so does any operation mixing a host
  ``numpy.ndarray`` with a device array;
- ufuncs accept only the keywords CuPy's do (``out``, ``dtype``, ``casting``), and only names
  real CuPy exports exist (``_names.py``, harvested from CuPy itself);
- ``ElementwiseKernel``/``ReductionKernel`` bind type placeholders as CuPy does (a float32
  ``scale`` with float16 ``x`` under one ``T`` raises ``Type is mismatched``);
- every read back to the host is counted with its call site (:func:`host_reads`).

It does not test numerics: arrays are NumPy arrays underneath, and kernels run the NumPy twins
of the gpukeras ops of the same name, not CUDA.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy

from cupy import _names, cuda, linalg, random  # noqa: F401 - submodules, as in CuPy
from cupy._array import HostDeviceMixError, ndarray, unwrap, wrap
from cupy._host_reads import host_reads, record, reset_host_reads
from cupy._kernels import ElementwiseKernel, RawKernel, RawModule, ReductionKernel

__version__ = f"{_names.CUPY_VERSION}+standin"
STANDIN = True
#: Functions that take host data (copying it to the device is allowed).
_FROM_HOST = frozenset({"array", "asarray", "asanyarray"})
_UFUNC_KEYWORDS = frozenset({"out", "dtype", "casting"})


class ufunc:  # noqa: N801 - CuPy's name
    """A NumPy ufunc behind CuPy's narrower keyword set."""

    def __init__(self, numpy_ufunc: Any) -> None:
        self._ufunc = numpy_ufunc
        self.name = self.__name__ = numpy_ufunc.__name__
        self.nin, self.nout, self.nargs = numpy_ufunc.nin, numpy_ufunc.nout, numpy_ufunc.nargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        unknown = set(kwargs) - _UFUNC_KEYWORDS
        if unknown:
            raise TypeError(f"Wrong arguments {dict((k, kwargs[k]) for k in unknown)}")
        out = kwargs.pop("out", None)
        where = f"cupy.{self.name}"
        for value in args:
            if isinstance(value, (list, tuple)):
                raise TypeError(f"Unsupported type {type(value)}")  # CuPy's ufuncs take no lists
        arguments = unwrap(args, where)
        if out is not None:
            if type(out) is not ndarray and not (isinstance(out, tuple)):
                raise TypeError("Output arguments type must be cupy.ndarray")
            kwargs["out"] = unwrap(out, where)
        result = self._ufunc(*arguments, **kwargs)
        if out is not None:
            return out
        return wrap(result)

    def __getattr__(self, name: str) -> Any:
        if name not in _names.UFUNC_METHODS:
            raise AttributeError(f"'cupy.ufunc' object has no attribute '{name}'")
        method = getattr(self._ufunc, name)
        return lambda *a, **k: wrap(method(*unwrap(a), **{n: unwrap(v) for n, v in k.items()}))


def _function(name: str, target: Any) -> Any:
    from_host = name in _FROM_HOST

    @functools.wraps(target)
    def call(*args: Any, **kwargs: Any) -> Any:
        where = f"cupy.{name}"
        if from_host:
            args = tuple(a._a if type(a) is ndarray else a for a in args)
        else:
            args = unwrap(args, where)
        out = kwargs.get("out")
        kwargs = {k: unwrap(v, where) for k, v in kwargs.items()}
        result = target(*args, **kwargs)
        return out if out is not None else wrap(result)

    return call


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None) -> numpy.ndarray:
    if type(a) is ndarray:
        return a.get(order=order, out=out)
    return numpy.asarray(a, order=order)


def get_array_module(*args: Any) -> Any:
    import cupy

    return cupy if any(type(a) is ndarray for a in args) else numpy


def get_default_memory_pool() -> Any:
    return cuda._POOL


def get_default_pinned_memory_pool() -> Any:
    return cuda._POOL


def _build_namespace() -> None:
    namespace = globals()
    for name in _names.NAMESPACE:
        if name in namespace:
            continue
        target = getattr(numpy, name, None)
        if target is None:
            continue
        if name in _names.UFUNCS and isinstance(target, numpy.ufunc):
            namespace[name] = ufunc(target)
        elif callable(target) and not isinstance(target, type):
            namespace[name] = _function(name, target)
        else:
            namespace[name] = target  # dtypes, constants, newaxis


def __getattr__(name: str) -> Any:
    raise AttributeError(
        f"module 'cupy' has no attribute '{name}' (not in CuPy {_names.CUPY_VERSION}'s namespace)"
    )


_build_namespace()
__all__ = [
    "ElementwiseKernel",
    "HostDeviceMixError",
    "RawKernel",
    "RawModule",
    "ReductionKernel",
    "host_reads",
    "record",
    "reset_host_reads",
]
