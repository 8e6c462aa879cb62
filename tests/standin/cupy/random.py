"""``cupy.random`` for the stand-in: NumPy generators whose draws land on the device."""

from __future__ import annotations

from typing import Any

import numpy

from cupy import _names
from cupy._array import unwrap, wrap


class RandomState:
    def __init__(self, seed: Any = None, method: Any = None) -> None:
        self._generator = numpy.random.default_rng(seed)

    def seed(self, seed: Any = None) -> None:
        self._generator = numpy.random.default_rng(seed)

    def random_sample(self, size: Any = None, dtype: Any = float) -> Any:
        return wrap(numpy.asarray(self._generator.random(size, dtype=numpy.dtype(dtype))))

    rand = ranf = sample = random = random_sample

    def permutation(self, num: Any) -> Any:
        return wrap(numpy.asarray(self._generator.permutation(unwrap(num))))

    def shuffle(self, a: Any) -> None:
        self._generator.shuffle(unwrap(a))

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = float):
        draws = self._generator.uniform(low, high, size)
        return wrap(numpy.asarray(draws, dtype=dtype))

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None, dtype: Any = float):
        return wrap(numpy.asarray(self._generator.normal(loc, scale, size), dtype=dtype))

    def standard_normal(self, size: Any = None, dtype: Any = float) -> Any:
        return self.normal(0.0, 1.0, size, dtype)

    def randint(self, low: int, high: Any = None, size: Any = None, dtype: Any = int) -> Any:
        return wrap(numpy.asarray(self._generator.integers(low, high, size), dtype=dtype))

    def choice(self, a: Any, size: Any = None, replace: bool = True, p: Any = None) -> Any:
        return wrap(numpy.asarray(self._generator.choice(unwrap(a), size, replace, unwrap(p))))

    def __getattr__(self, name: str) -> Any:
        known = "a method real CuPy has" if name in _names.RANDOM_STATE else "not in CuPy"
        raise AttributeError(f"RandomState.{name} is not in the stand-in ({known})")


_GLOBAL = RandomState()


def seed(value: Any = None) -> None:
    _GLOBAL.seed(value)


def get_random_state() -> RandomState:
    return _GLOBAL


def random_sample(size: Any = None, dtype: Any = float) -> Any:
    return _GLOBAL.random_sample(size, dtype)


def permutation(num: Any) -> Any:
    return _GLOBAL.permutation(num)


def uniform(low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = float) -> Any:
    return _GLOBAL.uniform(low, high, size, dtype)


def normal(loc: float = 0.0, scale: float = 1.0, size: Any = None, dtype: Any = float) -> Any:
    return _GLOBAL.normal(loc, scale, size, dtype)


def default_rng(seed: Any = None) -> Any:
    raise NotImplementedError("the stand-in has no cupy.random.Generator; use RandomState")
