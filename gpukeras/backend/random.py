"""Seeded random streams: one on the host for initial weights, one on the device.

Initial weights are drawn on the host so that NumPy and CuPy runs start from the
same numbers; shuffling and dropout draw on the device so no data leaves it.
``gpukeras.utils.set_random_seed`` reseeds both.
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras.backend._select import array_module, backend

_streams: dict[str, Any] = {"seed": None, "host": None, "device": None, "device_backend": None}
# Draw counters of named streams (``gpukeras.random.SeedGenerator``): plain ints, so they
# resume exactly on both backends through get_state/set_state.
_counters: dict[str, int] = {}


def seed(value: int | None) -> None:
    """Reseed the host and device streams (``None`` draws fresh entropy)."""
    if value is not None and (not isinstance(value, (int, numpy.integer)) or value < 0):
        raise ValueError(f"seed must be a non-negative int or None. Received: seed={value!r}")
    _streams["seed"] = None if value is None else int(value)
    _streams["host"] = None
    _streams["device"] = None


def host_generator() -> numpy.random.Generator:
    """The NumPy generator initialisers draw from."""
    if _streams["host"] is None:
        _streams["host"] = numpy.random.default_rng(_seed_sequence(0))
    return _streams["host"]


def _seed_sequence(stream: int) -> Any:
    return None if _streams["seed"] is None else [_streams["seed"], stream]


def device_generator(seed_value: int | None = None) -> Any:
    """A new device-side generator of its own (for layers given a ``seed``)."""
    if backend() == "cupy":
        return array_module().random.RandomState(seed_value)
    return numpy.random.default_rng(seed_value)


def _device_generator() -> Any:
    if _streams["device"] is None or _streams["device_backend"] != backend():
        if backend() == "cupy":
            seed_value = _streams["seed"]
            _streams["device"] = device_generator(
                None if seed_value is None else seed_value * 2 + 1
            )
        else:
            _streams["device"] = numpy.random.default_rng(_seed_sequence(1))
        _streams["device_backend"] = backend()
    return _streams["device"]


def permutation(n: int) -> Any:
    """A random permutation of ``range(n)``, made on the device."""
    return _device_generator().permutation(n)


def uniform(shape: tuple[int, ...], dtype: Any = "float32", generator: Any = None) -> Any:
    """Uniform samples in [0, 1) of ``shape``, made on the device.

    ``generator`` defaults to the global device stream; pass one made by
    :func:`device_generator` for a separately seeded stream.
    """
    generator = generator or _device_generator()
    dtype = numpy.dtype(dtype)
    # Both generators draw float32 or float64 only: half precision is drawn as float32.
    draw_dtype = numpy.float32 if dtype.itemsize < 4 else dtype
    if backend() == "cupy":
        samples = generator.random_sample(shape, dtype=draw_dtype)
    else:
        samples = generator.random(shape, dtype=draw_dtype)
    return samples if samples.dtype == dtype else samples.astype(dtype)


def normal(shape: tuple[int, ...], dtype: Any = "float32", generator: Any = None) -> Any:
    """Standard normal samples of ``shape``, made on the device (see :func:`uniform`)."""
    generator = generator or _device_generator()
    dtype = numpy.dtype(dtype)
    draw_dtype = numpy.float32 if dtype.itemsize < 4 else dtype
    samples = generator.standard_normal(shape, dtype=draw_dtype)  # one call on both
    return samples if samples.dtype == dtype else samples.astype(dtype)


def global_device_generator() -> Any:
    """The global device stream (the one :func:`get_state` saves)."""
    return _device_generator()


def next_count(name: str) -> int:
    """The named stream's draw counter, then advanced by one."""
    count = _counters.get(name, 0)
    _counters[name] = count + 1
    return count


def count(name: str) -> int:
    """How many draws the named stream has made (0 for one never drawn from)."""
    return _counters.get(name, 0)


def get_state() -> dict[str, Any]:
    """A JSON-able snapshot of both streams, for exact resume.

    CuPy's device stream (cuRAND) cannot be read back: on CuPy the
    ``'device'`` entry is ``None`` and :func:`set_state` leaves that stream
    alone (see :func:`reseed_device`).
    """
    return {
        "seed": _streams["seed"],
        "host": host_generator().bit_generator.state,
        "device": generator_state(_device_generator()),
        "counters": dict(_counters),
    }


def set_state(state: dict[str, Any]) -> None:
    """Restore a snapshot taken by :func:`get_state`."""
    _streams["seed"] = state["seed"]
    host_generator().bit_generator.state = state["host"]
    if state["device"] is not None:
        set_generator_state(_device_generator(), state["device"])
    _counters.clear()
    _counters.update(state.get("counters", {}))


def is_generator(value: Any) -> bool:
    """Whether ``value`` is a device generator (one :func:`device_generator` makes)."""
    if isinstance(value, numpy.random.Generator):
        return True
    return backend() == "cupy" and isinstance(value, array_module().random.RandomState)


def generator_state(generator: Any) -> dict[str, Any] | None:
    """A JSON-able snapshot of a device generator; ``None`` for CuPy's, which hides it."""
    if isinstance(generator, numpy.random.Generator):
        return generator.bit_generator.state
    return None


def set_generator_state(generator: Any, state: dict[str, Any]) -> None:
    """Restore a snapshot taken by :func:`generator_state` (NumPy generators only)."""
    if not isinstance(generator, numpy.random.Generator):
        raise ValueError(
            "Only NumPy generators can be restored from a saved state. "
            f"Received: a {type(generator).__name__}"
        )
    generator.bit_generator.state = state


def reseed_device(value: int) -> None:
    """Restart the global device stream from ``value``.

    Resuming on CuPy uses this instead of :func:`set_state`'s device entry,
    which CuPy cannot provide.
    """
    _streams["device"] = device_generator(value)
    _streams["device_backend"] = backend()
