"""Lazy logs: a dict whose device-held values become floats on first read.

Values produced on the device are registered as *pending*: each is a ratio
``vector[num] / vector[den]`` of an accumulator vector that stays on the
device. The first read of any pending value fetches every vector of the dict
in one transfer and fills all of them in, so a callback that never reads costs
nothing and one that reads costs exactly one sync per dict.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy

from gpukeras import backend as K

_PENDING = object()


class Logs(dict):
    """A ``dict`` of Python floats whose device values are fetched when first read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sources: list[tuple[Any, list[tuple[str, int, int]]]] = []

    def add_ratios(self, vector: Any, entries: list[tuple[str, Any, int | float]]) -> None:
        """Register keys valued ``vector[num] / den`` (0 where the divisor is 0).

        Each entry is ``(key, num, den)``: ``num`` is an index into ``vector``, or a
        ``(start, stop)`` pair for a vector value (a NumPy array, as Keras logs a metric
        whose result is not a scalar); ``den`` is an index into ``vector`` when it is an
        ``int``, else a divisor already known on the host.
        """
        self._sources.append((vector, entries))
        for key, _num, _den in entries:
            dict.__setitem__(self, key, _PENDING)

    def materialize(self) -> None:
        """Fetch every pending value in one transfer."""
        if not self._sources:
            return
        sources, self._sources = self._sources, []
        xp = K.array_module()
        vectors = [xp.asarray(v, dtype=xp.float64).ravel() for v, _ in sources]
        host = K.to_host(vectors[0] if len(vectors) == 1 else xp.concatenate(vectors)).tolist()
        offset = 0
        for (_vector, entries), flat in zip(sources, vectors):
            for key, num, den in entries:
                if dict.get(self, key) is _PENDING:
                    divisor = host[offset + den] if isinstance(den, int) else den
                    dict.__setitem__(self, key, _ratio(host, offset, num, divisor))
            offset += flat.size

    # Every read path materialises first; writes need not.
    def __getitem__(self, key: str) -> Any:
        if dict.get(self, key) is _PENDING:
            self.materialize()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __iter__(self) -> Iterator[str]:
        # Overriding __iter__ makes dict(logs) and f(**logs) go through __getitem__.
        return iter(list(dict.keys(self)))

    def items(self) -> Any:
        self.materialize()
        return dict.items(self)

    def values(self) -> Any:
        self.materialize()
        return dict.values(self)

    def copy(self) -> dict[str, Any]:
        self.materialize()
        return dict(dict.items(self))

    def pop(self, key: str, *default: Any) -> Any:
        if dict.get(self, key) is _PENDING:
            self.materialize()
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, Any]:
        self.materialize()
        return dict.popitem(self)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def __eq__(self, other: object) -> bool:
        self.materialize()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self.materialize()
        return dict.__repr__(self)

    def __or__(self, other: Any) -> dict[str, Any]:
        return {**self.copy(), **other}

    def __reduce__(self) -> Any:
        return (dict, (self.copy(),))


def _ratio(host: list[float], offset: int, num: Any, divisor: float) -> Any:
    """``host[num] / divisor`` (0 for a zero divisor); an array for a ``(start, stop)`` num."""
    if isinstance(num, tuple):
        values = numpy.array(host[offset + num[0] : offset + num[1]])
        return values / divisor if divisor else numpy.zeros_like(values)
    return host[offset + num] / divisor if divisor else 0.0
