"""Weight penalties, named and configured like Keras 3, each with its gradient.

``reg(x)`` returns the penalty as a 0-d array of ``x``'s module and dtype (it stays on
the device); ``reg.gradient(x)`` returns d penalty / dx, which the training step adds
to the weight's gradient.
"""

from __future__ import annotations

import math
from typing import Any

from gpukeras import backend as K

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "OrthogonalRegularizer",
    "Regularizer",
    "deserialize",
    "get",
    "l1",
    "l1_l2",
    "l2",
    "orthogonal_regularizer",
    "serialize",
]


class Regularizer:
    """Base class: subclasses implement ``__call__(x)``, ``gradient(x)`` and ``get_config()``."""

    def __call__(self, x: Any) -> Any:
        """The penalty for weights ``x``: a 0-d array (the base class gives 0)."""
        return K.get_array_module(x).zeros((), dtype=x.dtype)

    def gradient(self, x: Any) -> Any:
        """d penalty / dx, an array like ``x`` (the base class gives zeros)."""
        return K.get_array_module(x).zeros_like(x)

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.get_config() == other.get_config()  # type: ignore[attr-defined]

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _non_negative(value: Any, name: str) -> float:
    is_number = isinstance(value, (int, float)) or hasattr(value, "__float__")
    if isinstance(value, bool) or not is_number:
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. "
            f"Received: {name}={value!r:.100}"
        )
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):  # an int of 400 digits, a bad __float__
        number = math.nan
    if not math.isfinite(number) or not number >= 0.0:
        raise ValueError(
            f"Invalid value for argument {name}: expected a finite, non-negative float. "
            f"Received: {name}={value!r:.100}"
        )
    return number


def _zero_d(xp: Any, value: Any, dtype: Any) -> Any:
    """``value`` as a 0-d array: NumPy reductions return scalars, CuPy's 0-d arrays."""
    return xp.asarray(value, dtype=dtype)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``; both default to 0.0 (None also means 0.0).

    The derivative of ``|x|`` at 0 is taken as 0.
    """

    def __init__(self, l1: float | None = 0.0, l2: float | None = 0.0) -> None:
        self.l1 = _non_negative(0.0 if l1 is None else l1, "l1")
        self.l2 = _non_negative(0.0 if l2 is None else l2, "l2")

    def __call__(self, x: Any) -> Any:
        xp = K.get_array_module(x)
        penalty = xp.zeros((), dtype=x.dtype)
        if self.l1:
            penalty = penalty + self.l1 * xp.sum(xp.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * xp.sum(x * x)
        return _zero_d(xp, penalty, x.dtype)

    def gradient(self, x: Any) -> Any:
        xp = K.get_array_module(x)
        grad = xp.zeros_like(x)
        if self.l1:
            grad += self.l1 * xp.sign(x)
        if self.l2:
            grad += (2.0 * self.l2) * x
        return grad

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)`` (default l1 0.01); the derivative at 0 is taken as 0."""

    def __init__(self, l1: float | None = 0.01) -> None:
        self.l1 = _non_negative(0.01 if l1 is None else l1, "l1")

    def __call__(self, x: Any) -> Any:
        xp = K.get_array_module(x)
        return _zero_d(xp, self.l1 * xp.sum(xp.abs(x)), x.dtype)

    def gradient(self, x: Any) -> Any:
        return self.l1 * K.get_array_module(x).sign(x)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x**2)`` (default l2 0.01; no factor 1/2, as in Keras 3)."""

    def __init__(self, l2: float | None = 0.01) -> None:
        self.l2 = _non_negative(0.01 if l2 is None else l2, "l2")

    def __call__(self, x: Any) -> Any:
        xp = K.get_array_module(x)
        return _zero_d(xp, self.l2 * xp.sum(x * x), x.dtype)

    def gradient(self, x: Any) -> Any:
        return (2.0 * self.l2) * x

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalises non-orthogonal rows (``mode='rows'``, default) or columns of a 2D kernel.

    Penalty: ``factor * 0.5 * sum(|P - diag(P)|) / (n (n - 1) / 2)`` where ``P`` holds the
    cosine similarities of the ``n`` rows (columns); ``factor`` defaults to 0.01. As in
    Keras, each row is scaled by ``min(1 / norm, 1 / epsilon)``.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = _non_negative(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(
                "Invalid value for argument mode: expected one of 'rows', 'columns'. "
                f"Received: mode={mode!r}"
            )
        self.mode = mode

    def _rows(self, x: Any) -> Any:
        if len(x.shape) != 2:
            raise ValueError(
                "Inputs to OrthogonalRegularizer must have rank 2. "
                f"Received: x.shape={tuple(x.shape)}"
            )
        return x if self.mode == "rows" else x.T

    def _normalised(self, rows: Any) -> tuple[Any, Any, Any]:
        xp = K.get_array_module(rows)
        norms = xp.sqrt(xp.sum(rows * rows, axis=1, keepdims=True))
        # Keras's min(1 / norm, 1 / epsilon), written so a zero row never divides by 0.
        inverse = 1.0 / xp.maximum(norms, K.epsilon())
        return rows * inverse, inverse, norms < K.epsilon()

    def _weight(self, n: int) -> float:
        return self.factor * 0.5 / max(n * (n - 1.0) / 2.0, 1.0)

    def __call__(self, x: Any) -> Any:
        xp = K.get_array_module(x)
        normal, _, _ = self._normalised(self._rows(x))
        n = normal.shape[0]
        product = normal @ normal.T
        off_diagonal = xp.sum(xp.abs(product)) - xp.sum(xp.abs(xp.diagonal(product)))
        return _zero_d(xp, self._weight(n) * off_diagonal, x.dtype)

    def gradient(self, x: Any) -> Any:
        xp = K.get_array_module(x)
        rows = self._rows(x)
        normal, inverse, clamped = self._normalised(rows)
        n = normal.shape[0]
        signs = xp.sign(normal @ normal.T)
        signs[xp.arange(n), xp.arange(n)] = 0.0
        # d/dN of sum|N N^T| over i != j is 2 S N (S symmetric).
        grad_normal = (2.0 * self._weight(n)) * (signs @ normal)
        # N = rows / |rows|: project out the radial part, except where the 1/epsilon cap
        # made the scaling constant.
        radial = xp.sum(grad_normal * normal, axis=1, keepdims=True) * normal
        grad_rows = (grad_normal - xp.where(clamped, 0.0, radial)) * inverse
        return grad_rows if self.mode == "rows" else grad_rows.T

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


# Keras 3 exports the lowercase names as aliases of the classes (so l1_l2() has
# l1 = l2 = 0.0, unlike Keras 2's function with 0.01 each).
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES: dict[str, type[Regularizer]] = {
    cls.__name__: cls for cls in (L1, L2, L1L2, OrthogonalRegularizer)
}
_LOOKUP: dict[str, type[Regularizer]] = {
    **_CLASSES,
    "l1": L1,
    "l2": L2,
    "l1l2": L1L2,
    "orthogonal_regularizer": OrthogonalRegularizer,
}


def _from_name(name: str) -> Regularizer:
    if name == "l1_l2":
        # Keras 2 spelling, resolved to its function's defaults; Keras 3 rejects it.
        return L1L2(l1=0.01, l2=0.01)
    if name in _LOOKUP:
        return _LOOKUP[name]()
    known = ", ".join(map(repr, sorted([*_LOOKUP, "l1_l2"])))
    raise ValueError(
        f"Unknown regularizer: {name!r}. Expected one of: {known}. Received: regularizer={name!r}"
    )


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """Keras 3's dict form: ``{'module', 'class_name', 'config', 'registered_name'}``."""
    if regularizer is None:
        return None
    if not isinstance(regularizer, Regularizer) or type(regularizer).__name__ not in _CLASSES:
        raise ValueError(
            "Cannot serialize regularizer: expected a gpukeras.regularizers class instance. "
            f"Received: regularizer={regularizer!r}"
        )
    return {
        "module": "keras.regularizers",
        "class_name": type(regularizer).__name__,
        "config": regularizer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any] | str) -> Regularizer:
    """A regularizer from a name or a ``{'class_name': ..., 'config': {...}}`` dict."""
    if isinstance(config, str):
        return _from_name(config)
    if not isinstance(config, dict) or config.get("class_name") not in _LOOKUP:
        name = config.get("class_name") if isinstance(config, dict) else config
        raise ValueError(
            f"Unknown regularizer: {name!r}. Expected a dict whose class_name is one of: "
            f"{', '.join(map(repr, sorted(_LOOKUP)))}. Received: config={config!r}"
        )
    cls = _LOOKUP[config["class_name"]]
    arguments = dict(config.get("config") or {})
    # Keras 2 configs of L1L2 used numpy floats and sometimes extra keys such as 'name'.
    arguments.pop("name", None)
    try:
        return cls.from_config(arguments)
    except TypeError as error:
        raise ValueError(
            f"Invalid config for regularizer {config['class_name']!r}: {error}. "
            f"Received: config={arguments!r}"
        ) from None


def get(identifier: Any) -> Regularizer | None:
    """A regularizer for ``identifier``.

    Accepts None (returned as is), a name ('l1', 'l2', 'l1l2', Keras 2's 'l1_l2'), a Keras
    config dict, a :class:`Regularizer` instance or class, or any object with
    ``__call__(x)`` and ``gradient(x)``. A plain function is refused with TypeError:
    gpukeras needs the penalty's gradient.
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if callable(identifier) and callable(getattr(identifier, "gradient", None)):
        return identifier
    if callable(identifier):
        raise TypeError(
            "gpukeras needs the gradient of a custom regularizer: pass an object with "
            "__call__(x) and gradient(x) (e.g. a gpukeras.regularizers.Regularizer "
            f"subclass) instead of a plain function. Received: regularizer={identifier!r}"
        )
    raise TypeError(
        "Could not interpret regularizer: expected None, a name such as 'l2', a config "
        f"dict or a Regularizer. Received: regularizer={identifier!r}"
    )
