"""Keras's random ops, drawn on the backend's device stream.

``seed`` may be ``None`` (the global device stream, saved by ``BackupAndRestore``), an
int (the same numbers on every call, as in Keras) or a :class:`SeedGenerator` (its own
stream, advanced by each call).
"""

from __future__ import annotations

from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.random._seed_generator import SeedGenerator


def _generator(seed: Any) -> Any:
    if seed is None:
        return K.random.global_device_generator()
    if isinstance(seed, SeedGenerator):
        return seed.next_generator()
    if isinstance(seed, (int, numpy.integer)) and not isinstance(seed, bool) and seed >= 0:
        return K.random.device_generator(int(seed))
    raise ValueError(
        f"seed must be None, a non-negative int or a SeedGenerator. Received: seed={seed!r}"
    )


def _shape(shape: Any) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(not isinstance(n, (int, numpy.integer)) or n < 0 for n in shape):
        raise ValueError(f"shape must be non-negative ints. Received: shape={shape!r}")
    return tuple(int(n) for n in shape)


def _float_dtype(dtype: Any) -> numpy.dtype:
    dtype = numpy.dtype(dtype or K.floatx())
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a float type. Received: dtype={dtype.name!r}")
    return dtype


def normal(
    shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None, seed: Any = None
) -> Any:
    """Normal samples of ``shape`` with ``mean`` and ``stddev``."""
    dtype = _float_dtype(dtype)
    samples = K.random.normal(_shape(shape), dtype, _generator(seed))
    return (samples * stddev + mean).astype(dtype, copy=False)


def uniform(
    shape: Any, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None, seed: Any = None
) -> Any:
    """Uniform samples of ``shape`` in ``[minval, maxval)``."""
    dtype = _float_dtype(dtype)
    samples = K.random.uniform(_shape(shape), dtype, _generator(seed))
    return (samples * (maxval - minval) + minval).astype(dtype, copy=False)


_REDRAWS = 6  # P(a value is still outside after 6 draws) = 0.0455**6, about 1e-8


def truncated_normal(
    shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None, seed: Any = None
) -> Any:
    """Normal samples redrawn until within two standard deviations of the mean.

    Every redraw is made up front and chosen with ``where`` on the device, so no value
    is read back to decide one; the last few stragglers (about 1e-8 of them) are clipped.
    """
    dtype = _float_dtype(dtype)
    xp = K.array_module()
    shape, generator = _shape(shape), _generator(seed)
    z = K.random.normal(shape, dtype, generator)
    for _ in range(_REDRAWS - 1):
        z = xp.where(xp.abs(z) <= 2.0, z, K.random.normal(shape, dtype, generator))
    return (xp.clip(z, -2.0, 2.0) * stddev + mean).astype(dtype, copy=False)


def dropout(inputs: Any, rate: float, noise_shape: Any = None, seed: Any = None) -> Any:
    """``inputs`` with a fraction ``rate`` zeroed and the rest scaled by ``1 / (1 - rate)``.

    Differentiable in ``inputs`` (the mask is a constant to the tape).
    """
    from gpukeras import ops

    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must be in [0, 1). Received: rate={rate!r}")
    shape = ops.shape(inputs) if noise_shape is None else _noise_shape(noise_shape, inputs)
    value = K.to_device(ops.stop_gradient(inputs))
    keep = K.random.uniform(shape, value.dtype, _generator(seed)) >= rate
    scale = keep.astype(value.dtype) * (1.0 / (1.0 - rate))
    return ops.multiply(inputs, scale)


def _noise_shape(noise_shape: Any, inputs: Any) -> tuple[int, ...]:
    from gpukeras import ops

    full = ops.shape(inputs)
    return tuple(full[i] if n is None else int(n) for i, n in enumerate(noise_shape))


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> Any:
    """``x`` with its entries along ``axis`` in a random order (one device draw)."""
    from gpukeras import ops

    n = ops.shape(x)[axis]
    order = K.array_module().argsort(K.random.uniform((n,), "float32", _generator(seed)))
    return ops.take(x, order, axis=axis)


def randint(shape: Any, minval: int, maxval: int, dtype: Any = "int32", seed: Any = None) -> Any:
    """Integers of ``shape`` drawn uniformly from ``[minval, maxval)``."""
    dtype = numpy.dtype(dtype)
    if dtype.kind not in "iu" or maxval <= minval:
        raise ValueError(
            "randint needs an integer dtype and maxval > minval. "
            f"Received: dtype={dtype.name!r}, minval={minval!r}, maxval={maxval!r}"
        )
    xp = K.array_module()
    u = K.random.uniform(_shape(shape), numpy.float64, _generator(seed))
    drawn = xp.floor(u * (maxval - minval)) + minval
    return xp.minimum(drawn, maxval - 1).astype(dtype)


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> Any:
    """``num_samples`` class indices per row of ``logits`` (batch, classes), drawn with the
    Gumbel-max trick: one device draw, no host read."""
    from gpukeras import ops

    xp = K.array_module()
    value = K.to_device(ops.stop_gradient(logits))
    if value.ndim != 2:
        raise ValueError(
            f"categorical needs 2-D logits (batch, classes). Received: shape={value.shape}"
        )
    batch, classes = value.shape
    u = K.random.uniform((batch, num_samples, classes), value.dtype, _generator(seed))
    tiny = numpy.finfo(value.dtype).tiny
    gumbel = -xp.log(-xp.log(xp.maximum(u, tiny)))
    return xp.argmax(value[:, None, :] + gumbel, axis=-1).astype(numpy.dtype(dtype))
