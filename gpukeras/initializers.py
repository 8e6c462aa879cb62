"""Weight initializers, named and configured like Keras 3.

An initializer is called as ``init(shape, dtype=None)`` and returns a NumPy array on
the host (``dtype`` defaults to :func:`gpukeras.backend.floatx`); the layer moves it to
the device once. Random draws are made in float64 and then cast, so float32 and
float64 weights start from the same numbers.

Seeding follows Keras 3: ``seed=None`` draws from the shared host stream
(:func:`gpukeras.backend.random.host_generator`, so ``gpukeras.backend.random.seed(n)``
makes a run reproducible), while an integer seed gives the same values on every call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy

from gpukeras import backend as K

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
    "deserialize",
    "get",
    "serialize",
]

# Standard deviation of a unit normal truncated to [-2, 2]; dividing by it makes the
# truncated draws have the variance VarianceScaling asks for.
_TRUNCATED_STDDEV = 0.87962566103423978


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)``.

    ``get_config()`` returns the constructor arguments; ``from_config(config)`` builds an
    equal initializer from them.
    """

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        raise NotImplementedError(
            f"{type(self).__name__} must implement __call__(shape, dtype=None)."
        )

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def clone(self) -> Initializer:
        return type(self).from_config(self.get_config())

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.get_config() == other.get_config()  # type: ignore[attr-defined]

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _checked_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (tuple, list)) and all(
        isinstance(d, (int, numpy.integer)) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        return tuple(int(d) for d in shape)
    raise ValueError(
        "Invalid shape for initializer: expected a tuple of non-negative ints. "
        f"Received: shape={shape!r}"
    )


def _checked_dtype(dtype: Any, floating: bool) -> numpy.dtype:
    resolved = numpy.dtype(K.floatx() if dtype is None else dtype)
    if floating and resolved.kind != "f":
        raise ValueError(
            "Invalid dtype for a random initializer: expected a float dtype. "
            f"Received: dtype={dtype!r}"
        )
    return resolved


# --- constants ----------------------------------------------------------------------


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        return numpy.zeros(_checked_shape(shape), dtype=_checked_dtype(dtype, floating=False))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        return numpy.ones(_checked_shape(shape), dtype=_checked_dtype(dtype, floating=False))


class Constant(Initializer):
    """Every element set to ``value`` (default 0.0; an array broadcasts to the shape)."""

    def __init__(self, value: Any = 0.0) -> None:
        if isinstance(value, (list, tuple, numpy.ndarray)):
            value = numpy.asarray(value).tolist()
        elif isinstance(value, (numpy.integer, numpy.floating)):
            value = value.item()
        if not isinstance(value, (int, float, list)) or isinstance(value, bool):
            raise ValueError(
                "Invalid value for Constant: expected a number or an array. "
                f"Received: value={value!r}"
            )
        self.value = value

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        shape = _checked_shape(shape)
        resolved = _checked_dtype(dtype, floating=False)
        try:
            filled = numpy.broadcast_to(numpy.asarray(self.value, dtype=resolved), shape)
        except ValueError:
            raise ValueError(
                f"Constant value of shape {numpy.shape(self.value)} cannot fill shape {shape}. "
                f"Received: shape={shape}"
            ) from None
        return filled.copy()

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class Identity(Initializer):
    """``gain`` (default 1.0) times the identity matrix; 2D shapes only."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = float(gain)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        shape = _checked_shape(shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity initializer needs a 2D shape. "
                f"Received: shape={shape} of rank {len(shape)}"
            )
        resolved = _checked_dtype(dtype, floating=False)
        return (self.gain * numpy.eye(*shape)).astype(resolved)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


# --- random -------------------------------------------------------------------------


class _RandomInitializer(Initializer):
    """Holds the seed: ``None`` uses the shared host stream, an int a fixed stream."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (
            not isinstance(seed, (int, numpy.integer)) or isinstance(seed, bool) or seed < 0
        ):
            raise ValueError(
                f"Invalid seed for {type(self).__name__}: expected a non-negative int or "
                f"None. Received: seed={seed!r}"
            )
        self.seed = None if seed is None else int(seed)

    def _generator(self) -> numpy.random.Generator:
        if self.seed is None:
            return K.random.host_generator()
        return numpy.random.default_rng(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


def _truncated_normal(generator: numpy.random.Generator, shape: tuple[int, ...]) -> numpy.ndarray:
    """Unit normal samples redrawn until all lie within 2 standard deviations."""
    values = generator.standard_normal(shape)
    outside = numpy.abs(values) > 2.0
    while outside.any():
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = numpy.abs(values) > 2.0
    return values


class RandomUniform(_RandomInitializer):
    """Uniform in [minval, maxval) (defaults -0.05 and 0.05); ``seed`` default None."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval = float(minval)
        self.maxval = float(maxval)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        shape, resolved = _checked_shape(shape), _checked_dtype(dtype, floating=True)
        return self._generator().uniform(self.minval, self.maxval, shape).astype(resolved)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class RandomNormal(_RandomInitializer):
    """Normal with ``mean`` (default 0.0) and ``stddev`` (default 0.05); ``seed`` None."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean = float(mean)
        self.stddev = float(stddev)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        shape, resolved = _checked_shape(shape), _checked_dtype(dtype, floating=True)
        values = self._generator().standard_normal(shape)
        return (self.mean + self.stddev * values).astype(resolved)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """Normal with ``mean`` (default 0.0) and ``stddev`` (default 0.05), redrawn beyond
    two standard deviations (so the actual spread is ~0.88 stddev); ``seed`` None."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        shape, resolved = _checked_shape(shape), _checked_dtype(dtype, floating=True)
        values = _truncated_normal(self._generator(), shape)
        return (self.mean + self.stddev * values).astype(resolved)


def compute_fans(
    shape: tuple[int, ...],
    input_axes: tuple[int, ...] | None = None,
    output_axes: tuple[int, ...] | None = None,
) -> tuple[int, int]:
    """``(fan_in, fan_out)`` as Keras 3 computes them.

    Dense kernels ``(in, out)`` give ``(in, out)``; convolution kernels
    ``(*spatial, in, out)`` multiply both by the receptive field size; a vector gives
    its length twice, a scalar 1. ``input_axes``/``output_axes`` (default None) name
    the axes to multiply instead.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class VarianceScaling(_RandomInitializer):
    """Draws with variance ``scale / n``, ``n`` chosen by ``mode`` from the fans.

    Args:
        scale: positive factor (default 1.0).
        mode: 'fan_in' (default), 'fan_out' or 'fan_avg'.
        distribution: 'truncated_normal' (default; 'normal' is a Keras alias),
            'untruncated_normal' or 'uniform' (within +-sqrt(3 * scale / n)).
        seed: None (default, the shared host stream) or an int.
        input_axes, output_axes: axes for the fans (default None: Keras's rule).
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        input_axes: tuple[int, ...] | None = None,
        output_axes: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(seed)
        if not isinstance(scale, (int, float, numpy.number)) or not scale > 0.0:
            raise ValueError(
                "Invalid scale for VarianceScaling: expected a positive float. "
                f"Received: scale={scale!r}"
            )
        if mode not in self._MODES:
            raise ValueError(
                f"Invalid mode for VarianceScaling: expected one of "
                f"{', '.join(map(repr, self._MODES))}. Received: mode={mode!r}"
            )
        normalised = str(distribution).lower()
        normalised = "truncated_normal" if normalised == "normal" else normalised
        if normalised not in self._DISTRIBUTIONS:
            raise ValueError(
                f"Invalid distribution for VarianceScaling: expected one of "
                f"{', '.join(map(repr, self._DISTRIBUTIONS))}. "
                f"Received: distribution={distribution!r}"
            )
        self.scale = float(scale)
        self.mode = mode
        self.distribution = normalised
        self.input_axes = None if input_axes is None else tuple(input_axes)
        self.output_axes = None if output_axes is None else tuple(output_axes)

    def _variance(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        return self.scale / max(1.0, fan[self.mode])

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        shape, resolved = _checked_shape(shape), _checked_dtype(dtype, floating=True)
        variance = self._variance(shape)
        generator = self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            values = generator.uniform(-limit, limit, shape)
        elif self.distribution == "truncated_normal":
            values = math.sqrt(variance) / _TRUNCATED_STDDEV * _truncated_normal(generator, shape)
        else:
            values = math.sqrt(variance) * generator.standard_normal(shape)
        return values.astype(resolved)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


def _variance_scaling_preset(
    name: str, scale: float, mode: str, distribution: str, doc: str
) -> type[VarianceScaling]:
    """A VarianceScaling subclass with fixed scale/mode/distribution, as Keras has."""

    def __init__(
        self: VarianceScaling,
        seed: int | None = None,
        input_axes: tuple[int, ...] | None = None,
        output_axes: tuple[int, ...] | None = None,
    ) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self: VarianceScaling) -> dict[str, Any]:
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

    namespace = {"__init__": __init__, "get_config": get_config, "__doc__": doc}
    cls = type(name, (VarianceScaling,), namespace)
    cls.__module__ = __name__
    return cls


GlorotUniform = _variance_scaling_preset(
    "GlorotUniform", 1.0, "fan_avg", "uniform",
    "Uniform within +-sqrt(6 / (fan_in + fan_out)); ``seed`` default None.",
)  # fmt: skip
GlorotNormal = _variance_scaling_preset(
    "GlorotNormal", 1.0, "fan_avg", "truncated_normal",
    "Truncated normal, stddev sqrt(2 / (fan_in + fan_out)); ``seed`` default None.",
)  # fmt: skip
HeUniform = _variance_scaling_preset(
    "HeUniform", 2.0, "fan_in", "uniform",
    "Uniform within +-sqrt(6 / fan_in); ``seed`` default None.",
)  # fmt: skip
HeNormal = _variance_scaling_preset(
    "HeNormal", 2.0, "fan_in", "truncated_normal",
    "Truncated normal, stddev sqrt(2 / fan_in); ``seed`` default None.",
)  # fmt: skip
LecunUniform = _variance_scaling_preset(
    "LecunUniform", 1.0, "fan_in", "uniform",
    "Uniform within +-sqrt(3 / fan_in); ``seed`` default None.",
)  # fmt: skip
LecunNormal = _variance_scaling_preset(
    "LecunNormal", 1.0, "fan_in", "truncated_normal",
    "Truncated normal, stddev sqrt(1 / fan_in); ``seed`` default None.",
)  # fmt: skip


class Orthogonal(_RandomInitializer):
    """A (semi-)orthogonal matrix times ``gain`` (default 1.0); ``seed`` default None.

    Shapes of rank > 2 are treated as ``(prod(shape[:-1]), shape[-1])`` matrices, as in
    Keras: the rows (or columns, whichever are fewer) are orthonormal.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = float(gain)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> numpy.ndarray:
        shape, resolved = _checked_shape(shape), _checked_dtype(dtype, floating=True)
        if len(shape) < 2:
            raise ValueError(
                "Orthogonal initializer needs a shape of rank 2 or more. "
                f"Received: shape={shape} of rank {len(shape)}"
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        tall = self._generator().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = numpy.linalg.qr(tall)
        # Fixing the signs of R's diagonal makes Q uniformly distributed (Haar).
        q *= numpy.where(numpy.diag(r) < 0.0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        # astype(order="C"): the transposed QR factor is Fortran-ordered otherwise.
        return (self.gain * q).reshape(shape).astype(resolved, order="C")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gain": self.gain}


# --- lookup -------------------------------------------------------------------------

_CLASSES: dict[str, type[Initializer]] = {
    cls.__name__: cls
    for cls in (
        Constant,
        GlorotNormal,
        GlorotUniform,
        HeNormal,
        HeUniform,
        Identity,
        LecunNormal,
        LecunUniform,
        Ones,
        Orthogonal,
        RandomNormal,
        RandomUniform,
        TruncatedNormal,
        VarianceScaling,
        Zeros,
    )
}
_SNAKE_NAMES = {
    "constant": Constant,
    "glorot_normal": GlorotNormal,
    "glorot_uniform": GlorotUniform,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "identity": Identity,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
    "ones": Ones,
    "orthogonal": Orthogonal,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "zeros": Zeros,
}
# Older Keras names: 'uniform'/'normal' keep the +-0.05 / 0.05 defaults.
_ALIASES = {
    "normal": RandomNormal,
    "uniform": RandomUniform,
    "one": Ones,
    "zero": Zeros,
    "IdentityInitializer": Identity,
    "OrthogonalInitializer": Orthogonal,
}
_LOOKUP: dict[str, type[Initializer]] = {**_CLASSES, **_SNAKE_NAMES, **_ALIASES}


def _class_named(name: Any) -> type[Initializer]:
    if isinstance(name, str) and name in _LOOKUP:
        return _LOOKUP[name]
    raise ValueError(
        f"Unknown initializer: {name!r}. Expected one of: "
        f"{', '.join(map(repr, sorted(_LOOKUP)))}. Received: initializer={name!r}"
    )


def serialize(initializer: Initializer | None) -> dict[str, Any] | None:
    """Keras 3's dict form: ``{'module', 'class_name', 'config', 'registered_name'}``."""
    if initializer is None:
        return None
    if not isinstance(initializer, Initializer) or type(initializer).__name__ not in _CLASSES:
        raise ValueError(
            "Cannot serialize initializer: expected a gpukeras.initializers class instance. "
            f"Received: initializer={initializer!r}"
        )
    return {
        "module": "keras.initializers",
        "class_name": type(initializer).__name__,
        "config": initializer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any] | str) -> Initializer:
    """An initializer from a name or a ``{'class_name': ..., 'config': {...}}`` dict."""
    if isinstance(config, str):
        return _class_named(config)()
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "Invalid initializer config: expected a dict with 'class_name' and 'config'. "
            f"Received: config={config!r}"
        )
    cls = _class_named(config["class_name"])
    arguments = dict(config.get("config") or {})
    try:
        return cls.from_config(arguments)
    except TypeError as error:
        raise ValueError(
            f"Invalid config for initializer {config['class_name']!r}: {error}. "
            f"Received: config={arguments!r}"
        ) from None


def get(identifier: Any) -> Initializer | Callable[..., Any] | None:
    """An initializer for ``identifier``.

    Accepts None (returned as is), a name ('glorot_uniform', 'GlorotUniform', legacy
    'uniform', ...), a Keras config dict, an :class:`Initializer` instance or class, or
    any callable ``fn(shape, dtype=None)`` returning an array (Keras 1's
    ``fn(shape, name=None)`` too, with a DeprecationWarning).
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        from gpukeras import _legacy_initializers as keras1  # noqa: PLC0415 - imports us

        return keras1.adapt(identifier) if keras1.is_keras1_function(identifier) else identifier
    raise ValueError(
        "Could not interpret initializer: expected a name such as 'glorot_uniform', a "
        "config dict, an Initializer or a callable(shape, dtype). "
        f"Received: initializer={identifier!r}"
    )
