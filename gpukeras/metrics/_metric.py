"""Stateful metrics: ``Metric``, the weighted ``Mean`` and ``MeanMetricWrapper``.

State stays on the device (0-d float64 arrays, so long runs do not lose precision);
``result()`` returns a 0-d device array and never reads it back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.losses._loss import align_ranks, to_snake_case
from gpukeras.variables import Variable

__all__ = ["Mean", "MeanMetricWrapper", "Metric", "reduce_per_sample"]


def reduce_per_sample(values: Any, count: int | None = None) -> Any:
    """``values`` averaged over every axis but the first, shape ``(N,)``.

    A 0-d value (a function that already reduced the batch) is repeated ``count`` times.
    """
    xp = K.get_array_module(values)
    if values.ndim == 0:
        return xp.broadcast_to(values, (count or 1,)).copy()
    if values.ndim == 1:
        return values
    return values.reshape(values.shape[0], -1).mean(axis=1)


class Metric:
    """Base class of stateful metrics (Keras 3 ``keras.metrics.Metric``).

    Args:
        name: default ``None``: the snake_case class name.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).

    Subclasses implement ``update_state``, ``result`` and ``reset_state``. ``fn`` is the
    per-sample function the fit loop averages, or ``None`` for metrics it must drive
    through ``update_state``/``result``.
    """

    fn: Callable[[Any, Any], Any] | None = None

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        self.name = name or to_snake_case(type(self).__name__)
        # A DTypePolicy (Keras's mixed_float16) gives its compute dtype.
        dtype = getattr(dtype, "compute_dtype", dtype) or K.floatx()
        self._metric_dtype = numpy.dtype(dtype).name if not isinstance(dtype, str) else dtype
        self._state_variables: list[Variable] = []

    def add_variable(
        self,
        shape: Any = (),
        initializer: Any = "zeros",
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> Variable:
        """A state variable on the device, zeroed again by the default ``reset_state``.

        Args:
            shape: Default ``()``.
            initializer: Initializer or its id; default ``'zeros'``.
            dtype: Default the metric's dtype.
            aggregation: Accepted for Keras compatibility (how replicas combine it).
            name: Default ``variable``, ``variable_1``, ...
        """
        from gpukeras import initializers

        own = self.__dict__.setdefault("_state_variables", [])
        name = name or ("variable" if not own else f"variable_{len(own)}")
        shape = tuple(int(d) for d in (shape or ()))
        if isinstance(initializer, (str, dict)) or callable(initializer):
            value = initializers.get(initializer)(shape, dtype=dtype or self.dtype)
        else:  # an initial value (array or list), as Keras's Variable takes it
            # a copy: the variable is updated in place, the caller's array must not be
            value = numpy.array(K.to_host(initializer), dtype=dtype or self.dtype, copy=True)
            if value.shape != shape:
                raise ValueError(
                    f"The initial value of metric variable {name!r} must have shape {shape}. "
                    f"Received: initializer with shape {value.shape}"
                )
        variable = Variable(value, name=name, path=f"{self.name}/{name}", trainable=False)
        variable.value = variable.value.reshape(shape)  # a 0-d state stays 0-d
        own.append(variable)
        self.__dict__.setdefault("_initial_values", []).append(K.to_device(value).copy())
        return variable

    @property
    def dtype(self) -> Any:
        """The dtype of ``result()`` (read-only, as in Keras)."""
        return self._metric_dtype

    @property
    def _dtype(self) -> Any:
        """Keras's private name for the dtype its tests read."""
        return self.dtype

    def add_weight(
        self,
        shape: Any = (),
        initializer: Any = "zeros",
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> Variable:
        """The same as :meth:`add_variable` (Keras keeps both names)."""
        return self.add_variable(shape, initializer, dtype, aggregation, name)

    @property
    def variables(self) -> list[Variable]:
        """The state variables made by :meth:`add_variable`, in order, then those of its
        attributes (Variables and sub-metrics, also inside lists and dicts), as Keras
        tracks them."""
        found = list(self.__dict__.get("_state_variables", []))
        seen = {id(v) for v in found}
        for key, value in self.__dict__.items():
            if key not in ("_state_variables", "_initial_values"):
                for variable in _tracked_variables(value):
                    if id(variable) not in seen:
                        seen.add(id(variable))
                        found.append(variable)
        return found

    def stateless_update_state(self, metric_variables: list[Any], *args: Any, **kwargs: Any):
        """``update_state(*args, **kwargs)`` from the state ``metric_variables`` (one value
        per :attr:`variables`); returns the new values and leaves this metric's own state
        as it was (Keras 3's stateless API)."""
        return _run_with_values(self, metric_variables, lambda: self.update_state(*args, **kwargs))[
            1
        ]

    def stateless_result(self, metric_variables: list[Any]) -> Any:
        """``result()`` of the state ``metric_variables``, this metric's own state untouched."""
        result = _run_with_values(self, metric_variables, self.result)[0]
        return K.array_module().array(result, copy=True) if hasattr(result, "shape") else result

    def stateless_reset_state(self) -> list[Any]:
        """The values :meth:`reset_state` would give the variables, without resetting them."""
        return _run_with_values(self, [v.value for v in self.variables], self.reset_state)[1]

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate statistics from one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self) -> Any:
        """The metric value from the statistics so far, a 0-d device array."""
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self) -> None:
        """Forget all accumulated statistics: each state variable back to its initial value
        (override when the state is kept otherwise)."""
        own = self.__dict__.get("_state_variables", [])
        if not own:
            raise NotImplementedError(f"{type(self).__name__} must implement reset_state")
        for variable, initial in zip(own, self.__dict__["_initial_values"]):
            variable.assign(initial)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``update_state(*args, **kwargs)`` then ``result()``."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as Keras writes them."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """Rebuild a metric from ``get_config()`` output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def samplewise(values: Any, sample_weight: Any) -> tuple[Any, Any]:
    """Keras's reduction of a batch to per-sample values (and weights) for a mean.

    Without weights: ``values`` averaged over every axis but the first. With weights (ranks
    aligned as Keras's losses align them): ``values`` averaged over the axes the weights do
    not have, times the weights broadcast to them, then averaged per sample; the weights
    averaged per sample. A scalar weight thus weighs the batch's mean as one value.
    """
    xp = K.get_array_module(values)
    if sample_weight is None:
        return reduce_per_sample(values) if values.ndim > 1 else values, None
    weights = K.to_device(sample_weight).astype(values.dtype)
    values, weights = align_ranks(values, weights)
    weight_ndim = weights.ndim
    if values.ndim > weight_ndim:
        values = values.mean(axis=tuple(range(weight_ndim, values.ndim)))
    try:
        weights = xp.broadcast_to(weights, values.shape)
    except ValueError:
        raise ValueError(
            f"sample_weight must broadcast to the values' shape {tuple(values.shape)}. "
            f"Received: sample_weight.shape={tuple(K.to_device(sample_weight).shape)}"
        ) from None
    values = values * weights
    if weight_ndim > 1:
        weights = weights.mean(axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = values.mean(axis=tuple(range(1, values.ndim)))
    return values, weights


def _tracked_variables(value: Any) -> list[Variable]:
    """The Variables in an attribute: itself, a sub-metric's, or inside lists/tuples/dicts."""
    if isinstance(value, Variable):
        return [value]
    if isinstance(value, Metric):
        return value.variables
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [variable for item in value for variable in _tracked_variables(item)]
    return []


def _run_with_values(metric: Metric, values: list[Any], action: Callable[[], Any]):
    """``action()`` with the metric's variables set to ``values``; (its return, the variables'
    values after it). The variables get their own values back afterwards."""
    variables = metric.variables
    if len(values) != len(variables):
        raise ValueError(
            "Argument `metric_variables` must be a list of tensors corresponding 1:1 to "
            f"{type(metric).__name__}().variables. Received list with length {len(values)}, "
            f"but expected {len(variables)} variables."
        )
    saved = [variable.value.copy() for variable in variables]  # device copies
    try:
        for variable, value in zip(variables, values):
            variable.assign(value)
        returned = action()
        return returned, [variable.value.copy() for variable in variables]
    finally:
        for variable, value in zip(variables, saved):
            variable.assign(value)


class Mean(Metric):
    """The (weighted) mean of the values passed to ``update_state``.

    Args:
        name: default ``'mean'``.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
    """

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self) -> None:
        # Made on first use, so the arrays belong to the backend active at that time.
        self._total: Any = None
        self._count: Any = None

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add ``values`` (first axis = samples; other axes are averaged per sample).

        Args:
            values: the batch's values.
            sample_weight: ``None`` (default: weight 1 each), or weights that broadcast
                against ``values`` (Keras's rule, see :func:`samplewise`).
        """
        from gpukeras import autodiff

        # A metric's state is never differentiated: a traced value (a loss inside a
        # GradientTape, as Keras's guide updates its tracker) counts by its array.
        values = K.to_device(autodiff.unwrap(values))
        if sample_weight is not None:
            sample_weight = autodiff.unwrap(sample_weight)
        if values.dtype.kind != "f":
            values = values.astype(K.floatx())
        per_sample, weights = samplewise(values, sample_weight)
        xp = K.get_array_module(per_sample)
        total = per_sample.sum(dtype="float64")
        if weights is not None:
            count: Any = weights.sum(dtype="float64")
        else:
            count = float(per_sample.shape[0]) if per_sample.ndim else 1.0
        if self._total is None:
            self._total = xp.zeros((), dtype="float64")
            self._count = xp.zeros((), dtype="float64")
        self._total = self._total + total
        self._count = self._count + count

    def result(self) -> Any:
        xp = K.array_module()
        if self._total is None:
            return xp.zeros((), dtype=self.dtype)
        safe_count = xp.where(self._count == 0, 1.0, self._count)
        mean = xp.where(self._count == 0, 0.0, self._total / safe_count)
        return mean.astype(self.dtype)


class MeanMetricWrapper(Mean):
    """The running mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Args:
        fn: the metric function; values it returns are averaged per sample (over
            every axis but the first).
        name: default ``None``: the function's snake_case name.
        dtype: dtype of ``result()`` (default ``None``: ``floatx()``).
        **kwargs: passed to ``fn`` on every call.
    """

    def __init__(
        self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any
    ) -> None:
        if not callable(fn):
            raise TypeError(f"Expected a callable metric function. Received: fn={fn!r}")
        default_name = to_snake_case(getattr(fn, "__name__", type(fn).__name__))
        super().__init__(name=name or default_name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def fn(self, y_true: Any, y_pred: Any) -> Any:
        """Per-sample metric values, shape ``(N,)``, in ``y_pred``'s float dtype."""
        values = K.to_device(self._fn(y_true, y_pred, **self._fn_kwargs))
        shape = getattr(y_pred, "shape", None) or numpy.shape(y_pred)
        count = shape[0] if shape else 1
        return reduce_per_sample(values, count)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch: targets, predictions and optional per-sample weights."""
        super().update_state(self.fn(y_true, y_pred), sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config
