"""``optimizer.learning_rate`` and ``optimizer.iterations`` as Keras's variables, kept on the host.

In Keras both are ``keras.Variable``s (``.value``, ``.assign``, ``.numpy()``, arithmetic; a rate
of ``0.01`` reads back as float32). Keeping them on the device would cost a device-to-host read
per step: the fused update kernels take the rate and the bias corrections (computed from the
step count) as host scalars. So the optimizer keeps both as Python numbers and hands out an
:class:`OptimizerScalar`, a 0-d :class:`~gpukeras.Variable` that reads and writes them: reading
``.value`` uploads the number (no sync), ``float()``/``int()``/``numpy()`` never touch the device.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.optimizers.schedules import LearningRateSchedule
from gpukeras.variables import Variable


class _Default(float):
    """A default argument, told apart from the same number passed explicitly (for ``lr=``)."""

    def __repr__(self) -> str:
        return float.__repr__(self)


# Constructor defaults for ``learning_rate``, told apart from explicit values.
LR_0_001: float = _Default(0.001)
LR_0_01: float = _Default(0.01)


def floatx_round(value: float) -> float:
    """``value`` as the floatx variable Keras keeps it in (0.001 -> 0.0010000000474974513)."""
    return float(numpy.dtype(K.floatx()).type(value))


def host_number(value: Any, name: str) -> Any:
    """A Python number from a number, a 0-d array (one counted read if on the device), a
    Tensor or a Variable; ValueError naming ``name`` for anything with more than one element."""
    if isinstance(value, OptimizerScalar):
        return value.numpy().item()
    value = getattr(value, "value", value)  # Tensor, Variable
    if K.is_device_array(value):
        value = K.to_host(value)
    host = numpy.asarray(value)
    if host.size != 1 or host.dtype.kind not in "biuf":
        raise ValueError(
            f"`{name}` must be a scalar number. Received: {name}={value!r} with shape {host.shape}"
        )
    return host.reshape(()).item()


class OptimizerScalar(Variable):
    """A 0-d Variable whose number lives in its optimizer: ``iterations`` or ``learning_rate``.

    Reads and writes go through the optimizer (``owner``), so every handle on it stays current
    and the optimizer's own checks apply to ``assign``. Arithmetic goes through ``gpukeras.ops``
    on ``.value`` like any Variable's.
    """

    __slots__ = ("_owner", "_kind", "_host_dtype")

    def __init__(self, owner: Any, kind: str, dtype: Any) -> None:
        self._owner, self._kind, self._host_dtype = owner, kind, numpy.dtype(dtype)
        self.name = "iteration" if kind == "iterations" else kind.rpartition("/")[2]
        self.path = f"{owner.name}/{self.name}"
        self.trainable = False
        self.regularizer = None
        self.constraint = None
        self.overwrite_with_gradient = False
        self.grad = None

    def _host(self) -> Any:
        return self._owner._read_scalar(self._kind)

    @property
    def value(self) -> Any:  # type: ignore[override]
        """The number as a 0-d array of the active backend (uploaded; never a device read)."""
        return K.to_device(numpy.asarray(self._host(), dtype=self._host_dtype))

    @value.setter
    def value(self, new: Any) -> None:
        self.assign(new)

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    @property
    def dtype(self) -> Any:
        return self._host_dtype

    @property
    def ndim(self) -> int:
        return 0

    def numpy(self) -> numpy.ndarray:
        return numpy.asarray(self._host(), dtype=self._host_dtype)

    def __array__(self, dtype: Any = None, copy: Any = None) -> numpy.ndarray:
        return numpy.asarray(self.numpy(), dtype=dtype)

    def __float__(self) -> float:
        return float(self.numpy())

    def __int__(self) -> int:
        return int(self.numpy())

    # Comparisons with numbers and other optimizer scalars are by value on the host, as a
    # Keras variable compares (``optimizer.iterations == 5``); with a weight, identity.
    def __eq__(self, other: Any) -> Any:
        if isinstance(other, Variable) and not isinstance(other, OptimizerScalar):
            return False
        return self.numpy() == numpy.asarray(other)

    def __ne__(self, other: Any) -> Any:
        return not self.__eq__(other)

    def __lt__(self, other: Any) -> Any:
        return self.numpy() < numpy.asarray(other)

    def __le__(self, other: Any) -> Any:
        return self.numpy() <= numpy.asarray(other)

    def __gt__(self, other: Any) -> Any:
        return self.numpy() > numpy.asarray(other)

    def __ge__(self, other: Any) -> Any:
        return self.numpy() >= numpy.asarray(other)

    __hash__ = Variable.__hash__

    def __bool__(self) -> bool:
        return bool(self.numpy())

    def __index__(self) -> int:
        if self._host_dtype.kind not in "iu":
            raise TypeError(f"Variable {self.path!r} holds a float, not an index")
        return int(self.numpy())

    def assign(self, value: Any) -> None:
        """Set the number (checked by the optimizer as its setter would)."""
        self._owner._write_scalar(self._kind, host_number(value, self._kind))

    def assign_add(self, value: Any) -> None:
        self.assign(self.numpy() + host_number(value, self._kind))

    def assign_sub(self, value: Any) -> None:
        self.assign(self.numpy() - host_number(value, self._kind))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._owner, self._kind, self._host_dtype))

    def __repr__(self) -> str:
        return (
            f"<Variable path={self.path} shape=() dtype={self._host_dtype.name}, "
            f"value={self._host()!r}>"
        )


def checked_learning_rate(value: Any) -> Any:
    """A schedule or callable as is, else the rate as a floatx-rounded Python float >= 0."""
    if isinstance(value, LearningRateSchedule) or (
        callable(value) and not isinstance(value, (numbers.Number, Variable))
    ):
        return value
    if (
        isinstance(value, (Variable, numpy.ndarray))
        or K.is_device_array(value)
        or hasattr(value, "value")
    ):
        value = host_number(value, "learning_rate")
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or value < 0
    ):
        raise ValueError(
            "Argument `learning_rate` should be a float >= 0, a LearningRateSchedule or a "
            f"callable returning the learning rate. Received: learning_rate={value!r}"
        )
    return floatx_round(float(value))


class LearningRateAndIterations:
    """The ``learning_rate``, ``lr`` and ``iterations`` properties of ``Optimizer``.

    The numbers are ``self._learning_rate`` (a float, schedule or callable) and
    ``self._iterations`` (every ``apply`` call, as Keras's ``_iterations`` counts them);
    ``iterations`` counts the updates: ``_iterations // gradient_accumulation_steps``.
    """

    _learning_rate: Any
    _iterations: int
    gradient_accumulation_steps: int | None

    @property
    def _updates(self) -> int:
        """Updates applied so far, a host int: what ``iterations`` holds and what update rules
        count steps by (``_iterations`` also counts the calls that only accumulate)."""
        return self._iterations // (self.gradient_accumulation_steps or 1)

    def _read_scalar(self, kind: str) -> Any:
        """The number behind an :class:`OptimizerScalar`: ``iterations`` (updates),
        ``iteration`` (every call, Keras's ``_iterations``), ``learning_rate``, or
        ``extra/<name>`` (a subclass's scalar state, e.g. Nadam's product)."""
        if kind == "iterations":
            return self._updates
        if kind == "iteration":
            return self._iterations
        if kind.startswith("extra/"):
            return dict(self._extra_state())[kind[len("extra/") :]]
        return self._current_learning_rate()

    def _write_scalar(self, kind: str, value: Any) -> None:
        # The base setters: a wrapper (LossScaleOptimizer) may delegate its properties.
        if kind == "iteration":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(
                    f"`iteration` must be an integer >= 0. Received: iteration={value!r}"
                )
            self._iterations = int(value)
        elif kind.startswith("extra/"):
            values = dict(self._extra_state())
            values[kind[len("extra/") :]] = float(value)
            self._set_extra_state(list(values.values()))
        else:
            getattr(LearningRateAndIterations, kind).fset(self, value)

    def _extra_state(self) -> list[tuple[str, float]]:
        """Scalar state saved after the slots, as ``(name, value)``."""
        return []

    def _set_extra_state(self, values: list[float]) -> None:
        """Restore what :meth:`_extra_state` returned."""

    def _current_learning_rate(self) -> float:
        """The rate this step uses, a host float (a schedule is evaluated at ``_iterations``,
        every call counted, as Keras does)."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return floatx_round(float(self._learning_rate(self._iterations)))
        if callable(self._learning_rate):
            return floatx_round(float(self._learning_rate()))
        return self._learning_rate

    @property
    def learning_rate(self) -> Any:
        """A float rate: the ``learning_rate`` Variable (float32, ``.assign`` sets it). A schedule
        or callable: the rate it gives now, a floatx NumPy scalar."""
        if isinstance(self._learning_rate, float):
            return OptimizerScalar(self, "learning_rate", K.floatx())
        return numpy.dtype(K.floatx()).type(self._current_learning_rate())

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        checked = checked_learning_rate(value)
        if isinstance(checked, float) and isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, instantiate the optimizer with a "
                f"float `learning_rate` argument. Received: learning_rate={value!r}"
            )
        self._learning_rate = checked

    @property
    def lr(self) -> Any:
        """Deprecated alias of :attr:`learning_rate` (Keras 2's name)."""
        warnings.warn("`lr` is deprecated; use `learning_rate`.", DeprecationWarning, stacklevel=2)
        return self.learning_rate

    @lr.setter
    def lr(self, value: Any) -> None:
        warnings.warn("`lr` is deprecated; use `learning_rate`.", DeprecationWarning, stacklevel=2)
        self.learning_rate = value

    @property
    def iterations(self) -> OptimizerScalar:
        """How many updates have been applied: Keras's int64 ``iterations`` Variable."""
        return OptimizerScalar(self, "iterations", "int64")

    @iterations.setter
    def iterations(self, value: Any) -> None:
        value = host_number(value, "iterations") if not isinstance(value, int) else value
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(
                f"`iterations` must be an integer >= 0. Received: iterations={value!r}"
            )
        self._iterations = int(value) * (self.gradient_accumulation_steps or 1)
