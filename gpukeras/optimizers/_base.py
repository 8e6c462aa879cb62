"""The optimizer base class: Keras 3's arguments, order of operations and state layout.

One step (``apply``) does, like Keras 3: build slots on first use, drop missing gradients,
clip (clipnorm per variable, global_clipnorm over all, or clipvalue), decay weights
(``var -= var * weight_decay * lr``), run the optimizer's update, update the EMA if asked, then
``iterations += 1``. Clipping, decay and update run as ONE fused kernel per parameter
(``gpukeras.backend.kernels.optimizers``); norms for clipping stay on the device.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras._legacy import warn_user
from gpukeras._naming import to_snake_case, unique_name
from gpukeras.backend.kernels import optimizers as kernels
from gpukeras.optimizers._flat import FlatParameters
from gpukeras.optimizers.schedules import InverseTimeDecay, LearningRateSchedule
from gpukeras.optimizers.schedules import deserialize as deserialize_schedule
from gpukeras.optimizers.schedules import serialize as serialize_schedule
from gpukeras.variables import Variable


class _Default(float):
    """A default argument, told apart from the same number passed explicitly (for ``lr=``)."""

    def __repr__(self) -> str:
        return float.__repr__(self)


# Constructor defaults for ``learning_rate``, told apart from explicit values.
LR_0_001: float = _Default(0.001)
LR_0_01: float = _Default(0.01)


def _auto_name(cls_name: str) -> str:
    """Keras 3's automatic names: ``adam``, ``adam_1``, ... (``RMSprop`` -> ``rm_sprop``)."""
    return unique_name(to_snake_case(cls_name))


def check_number(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    high_inclusive: bool = True,
    low_inclusive: bool = True,
) -> float:
    """``value`` as a Python float, or ValueError naming ``name`` and the allowed range."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value)
        ok = ok and (low is None or value > low or (low_inclusive and value == low))
        ok = ok and (high is None or value < high or (high_inclusive and value == high))
    if not ok:
        left = "(" if not low_inclusive else "["
        right = "]" if high_inclusive else ")"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(
            f"Argument `{name}` must be a number in {left}{lo}, {hi}{right}. "
            f"Received: {name}={value!r}"
        )
    return value


def _check_optional_positive(name: str, value: Any) -> float | None:
    if value is None:
        return None
    return check_number(name, value, low=0.0, low_inclusive=False)


def _floatx_round(value: float) -> float:
    """``value`` as the floatx variable Keras keeps it in (0.001 -> 0.0010000000474974513)."""
    return float(numpy.dtype(K.floatx()).type(value))


class Optimizer:
    """Base class of gpukeras optimizers (Keras 3's ``BaseOptimizer`` contract).

    Args:
        learning_rate: a float >= 0, a ``LearningRateSchedule`` evaluated on ``iterations``, or
            a callable with no arguments returning the rate. Stored rounded to floatx, as
            Keras's variable holds it.
        weight_decay: default None; a float >= 0 applies decoupled decay
            ``var -= var * weight_decay * learning_rate`` before each update.
        clipnorm: default None; clip each gradient to this L2 norm (> 0).
        clipvalue: default None; clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: default None; clip all gradients together to this global L2 norm.
            At most one of the three clipping arguments may be set.
        use_ema: default False; keep an exponential moving average of the weights.
        ema_momentum: default 0.99; the EMA's momentum, in [0, 1].
        ema_overwrite_frequency: default None; every this many steps, overwrite the weights
            with their average.
        loss_scale_factor: must stay None (use ``mixed_precision.LossScaleOptimizer``).
        gradient_accumulation_steps: must stay None (not implemented).
        name: default None: ``'adam'``, ``'adam_1'``, ... like Keras.
        **kwargs: ``lr`` (Keras 2 name of ``learning_rate``, accepted with a
            DeprecationWarning) and ``decay`` (ignored with a warning, as in Keras 3).
    """

    #: Pack the trainable variables into flat buffers when building, so that each step is
    #: one update kernel call (see ``gpukeras.optimizers._flat``). Set False on a class or an
    #: instance, before it is built, to keep one array per variable.
    flat_update: bool = True

    def __init__(
        self,
        learning_rate: Any,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        learning_rate = self._pop_legacy_kwargs(learning_rate, kwargs)
        self.name = name if name is not None else _auto_name(type(self).__name__)
        self.weight_decay = None if weight_decay is None else check_number(
            "weight_decay", weight_decay, low=0.0
        )  # fmt: skip
        self.clipnorm = _check_optional_positive("clipnorm", clipnorm)
        self.clipvalue = _check_optional_positive("clipvalue", clipvalue)
        self.global_clipnorm = _check_optional_positive("global_clipnorm", global_clipnorm)
        if sum(arg is not None for arg in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        self._set_ema(use_ema, ema_momentum, ema_overwrite_frequency)
        for arg, value in (
            ("loss_scale_factor", loss_scale_factor),
            ("gradient_accumulation_steps", gradient_accumulation_steps),
        ):
            if value is not None:
                raise ValueError(
                    f"gpukeras optimizers do not support `{arg}`; leave it as None. "
                    f"Received: {arg}={value!r}"
                )
        self.loss_scale_factor = None
        self.gradient_accumulation_steps = None
        self._learning_rate = self._checked_learning_rate(learning_rate)
        self._iterations = 0
        self.built = False
        self._trainable: list[Variable] = []
        self._index: dict[int, int] = {}
        self._slots: list[dict[str, Any]] = []
        self._slot_order: list[tuple[int, str]] = []
        self._flat: FlatParameters | None = None
        self._flat_slots: dict[str, Any] = {}
        self._constants: dict[tuple[Any, ...], Any] = {}
        self._clip_buffers: dict[str, Any] = {}
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern[str] | None = None

    # --- construction helpers -----------------------------------------------------------------

    @staticmethod
    def _pop_legacy_kwargs(learning_rate: Any, kwargs: dict[str, Any]) -> Any:
        if "lr" in kwargs:
            lr = kwargs.pop("lr")
            if not isinstance(learning_rate, _Default):
                raise TypeError(
                    "Got both `lr` and `learning_rate`; `lr` is the Keras 2 name of "
                    f"`learning_rate`. Pass only `learning_rate`. Received: lr={lr!r}, "
                    f"learning_rate={learning_rate!r}"
                )
            warn_user(
                f"Argument `lr` is deprecated; use `learning_rate` instead. Received: lr={lr!r}"
            )
            learning_rate = lr
        decay = kwargs.pop("decay", None)
        if decay is not None:
            learning_rate = _time_based_decay(learning_rate, decay)
        if kwargs:
            listed = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
            raise ValueError(f"Argument(s) not recognized: {sorted(kwargs)}. Received: {listed}")
        return float(learning_rate) if isinstance(learning_rate, _Default) else learning_rate

    def _set_ema(self, use_ema: bool, momentum: float, overwrite_frequency: int | None) -> None:
        self.use_ema = bool(use_ema)
        self.ema_momentum = momentum
        self.ema_overwrite_frequency = overwrite_frequency
        if not self.use_ema:
            return
        self.ema_momentum = check_number("ema_momentum", momentum, 0.0, 1.0)
        if overwrite_frequency is not None and (
            isinstance(overwrite_frequency, bool)
            or not isinstance(overwrite_frequency, int)
            or overwrite_frequency < 1
        ):
            raise ValueError(
                "`ema_overwrite_frequency` must be an integer >= 1 or None. "
                f"Received: ema_overwrite_frequency={overwrite_frequency!r}"
            )

    @staticmethod
    def _checked_learning_rate(value: Any) -> Any:
        if isinstance(value, LearningRateSchedule) or (
            callable(value) and not isinstance(value, numbers.Number)
        ):
            return value
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
        return _floatx_round(float(value))

    # --- learning rate and iterations ---------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        """The rate the next step uses, as a Python float (a schedule is evaluated now)."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return _floatx_round(float(self._learning_rate(self._iterations)))
        if callable(self._learning_rate):
            return _floatx_round(float(self._learning_rate()))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        checked = self._checked_learning_rate(value)
        if isinstance(checked, float) and isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, instantiate the optimizer with a "
                f"float `learning_rate` argument. Received: learning_rate={value!r}"
            )
        self._learning_rate = checked

    @property
    def lr(self) -> float:
        """Deprecated alias of :attr:`learning_rate` (Keras 2's name)."""
        warnings.warn("`lr` is deprecated; use `learning_rate`.", DeprecationWarning, stacklevel=2)
        return self.learning_rate

    @lr.setter
    def lr(self, value: Any) -> None:
        warnings.warn("`lr` is deprecated; use `learning_rate`.", DeprecationWarning, stacklevel=2)
        self.learning_rate = value

    @property
    def iterations(self) -> int:
        """How many steps have been applied (Keras's ``iterations`` variable)."""
        return self._iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(
                f"`iterations` must be an integer >= 0. Received: iterations={value!r}"
            )
        self._iterations = int(value)

    # --- subclass hooks -----------------------------------------------------------------------

    def _slot_groups(self) -> list[tuple[tuple[str, ...], float]]:
        """Slot names built together (interleaved per variable, as Keras orders them) and
        their initial value; groups are appended one after another."""
        return []

    def _kernel_slots(self) -> tuple[str, ...]:
        """The slot names in the order the update kernel takes them as outputs."""
        return ()

    def _update_op(self) -> Any:
        raise NotImplementedError

    def _step_scalars(self, lr: float, ftype: Any) -> tuple[float, ...]:
        """The kernel's optimizer-specific scalars for this step, in ``ftype`` arithmetic."""
        return ()

    def _advance_state(self) -> None:
        """Host state that moves once per step before the updates (Nadam's u_product)."""

    def _extra_state(self) -> list[tuple[str, float]]:
        """Scalar state saved after the slots, as ``(name, value)``."""
        return []

    def _set_extra_state(self, values: list[float]) -> None:
        """Restore what :meth:`_extra_state` returned."""

    # --- building -----------------------------------------------------------------------------

    def build(self, variables: Sequence[Variable]) -> None:
        """Create the slots for ``variables`` (same shape and dtype, on the active backend)."""
        if self.built:
            return
        self._trainable = list(variables)
        self._index = {id(v): i for i, v in enumerate(self._trainable)}
        self._slots = [{} for _ in self._trainable]
        flat = self.flat_update and FlatParameters.fits(self._trainable)
        self._flat = FlatParameters(self._trainable) if flat else None
        groups = ([(("average",), 0.0)] if self.use_ema else []) + self._slot_groups()
        for names, initial in groups:
            views = {name: self._new_slot(name, initial) for name in names}
            for i in range(len(self._trainable)):
                for slot in names:
                    self._slots[i][slot] = views[slot][i]
                    self._slot_order.append((i, slot))
        self._build_extra_state()
        self.built = True

    def _new_slot(self, name: str, initial: float) -> list[Any]:
        """One array per variable for slot ``name``: views of one flat buffer when packed."""
        if self._flat is not None:
            self._flat_slots[name], views = self._flat.new_slot(initial)
            return views
        xp = K.array_module()
        return [xp.full(v.value.shape, initial, dtype=v.value.dtype) for v in self._trainable]

    def _build_extra_state(self) -> None:
        """Subclasses with scalar state (Nadam) set it up here."""

    # --- applying -----------------------------------------------------------------------------

    def scale_loss(self, loss: Any) -> Any:
        """The loss a custom ``train_step`` takes gradients of: ``loss`` itself here; a
        ``LossScaleOptimizer`` multiplies it by its scale (Keras 3's ``scale_loss``)."""
        return loss

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> int:
        """Keras-style: apply ``(gradient, variable)`` pairs. Returns ``iterations``."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs, strict=False)
            self.apply(list(grads), list(variables))
        return self._iterations

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Variable] | None = None):
        """One optimizer step, updating each variable's ``.value`` in place.

        ``apply(variables)``: a sequence of Variables; each one's ``.grad`` is its gradient
        (``None`` skips it). ``apply(grads, variables)``: gradients and variables side by
        side, as in Keras. ``apply(grads)``: gradients for the variables the optimizer was
        built with. An empty sequence does nothing.
        """
        pairs = self._pairs(list(grads), trainable_variables)
        if not pairs:
            return
        if not self.built:
            self.build([variable for _, variable in pairs])
        variables = [variable for _, variable in pairs]
        grads_now = [grad for grad, _ in pairs]
        flat, decay = self._flat_layout(grads_now, variables)
        if flat is None:  # checked and converted one by one
            self._check_known(variables)
            pairs = self._drop_missing(pairs)
            grads_now = [self._as_gradient(grad, variable) for grad, variable in pairs]
            variables = [variable for _, variable in pairs]
        lr = self.learning_rate
        factors = None
        if flat is None or self.global_clipnorm:
            factors = self._clip_factors(grads_now, variables)
        glo, ghi = (-self.clipvalue, self.clipvalue) if self.clipvalue else (-math.inf, math.inf)
        self._advance_state()
        op = self._update_op()
        if flat is None:
            self._step_each(grads_now, variables, factors, glo, ghi, lr, op)
        else:
            if factors is None:
                one = self._constant(1.0, flat.dtype)
                factors = [(one, one)]
            self._flat_step(flat, factors[0], decay, glo, ghi, lr, op)
        if self.use_ema:
            self._update_ema()
        self._iterations += 1

    def _flat_layout(self, grads: list[Any], variables: list[Variable]) -> tuple[Any, float]:
        """``(flat buffers, the one weight decay)`` when this step can run as one kernel call
        over them (the gradients and variables are still the packed views, no per-variable
        clipnorm, one decay for all), else ``(None, 0.0)``."""
        flat = self._flat
        if flat is None or self.clipnorm or not flat.holds(variables, grads):
            return None, 0.0
        if self.weight_decay is None or not (self._exclude_ids or self._exclude_pattern):
            return flat, self.weight_decay or 0.0
        decay = self._decay_for(variables[0])
        if any(self._decay_for(v) != decay for v in variables):
            return None, 0.0
        return flat, decay

    def _flat_step(self, flat, factors, decay, glo, ghi, lr, op) -> None:
        """The whole step as one kernel call over the flat buffers."""
        gmul, gdiv = factors
        op(
            flat.grads, gmul, gdiv, glo, ghi, decay, lr,
            *self._step_scalars(lr, numpy.dtype(flat.dtype).type),
            flat.values, *(self._flat_slots[name] for name in self._kernel_slots()),
        )  # fmt: skip

    def _step_each(self, grads_now, variables, factors, glo, ghi, lr, op) -> None:
        """One kernel call per variable (mixed dtypes, clipnorm, or detached views)."""
        scalars_by_dtype: dict[Any, tuple[float, ...]] = {}
        for grad, variable, (gmul, gdiv) in zip(grads_now, variables, factors, strict=False):
            dtype = variable.value.dtype
            if dtype not in scalars_by_dtype:
                scalars_by_dtype[dtype] = self._step_scalars(lr, numpy.dtype(dtype).type)
            slots = self._slots[self._index[id(variable)]]
            op(
                grad, gmul, gdiv, glo, ghi, self._decay_for(variable), lr,
                *scalars_by_dtype[dtype],
                variable.value, *(slots[name] for name in self._kernel_slots()),
            )  # fmt: skip

    def _pairs(self, grads: list[Any], variables: Sequence[Variable] | None) -> list[tuple]:
        if variables is not None:
            variables = list(variables)
            if len(grads) != len(variables):
                raise ValueError(
                    "Expected one gradient per variable. Received: "
                    f"{len(grads)} gradients for {len(variables)} variables"
                )
            return list(zip(grads, variables, strict=False))
        if all(isinstance(item, Variable) for item in grads):
            return [(variable.grad, variable) for variable in grads]
        if not self.built:
            raise ValueError(
                "When passing `grads` without `variables`, the optimizer must already be built "
                "on a list of variables. Call `optimizer.build(trainable_variables)` first."
            )
        if len(grads) != len(self._trainable):
            raise ValueError(
                "When passing `grads` as a list of gradient arrays, the gradients must match "
                f"the optimizer's variables one-to-one. Received: {len(grads)} gradients, but "
                f"the optimizer tracks {len(self._trainable)} variables"
            )
        return list(zip(grads, self._trainable, strict=False))

    def _check_known(self, variables: list[Variable]) -> None:
        for variable in variables:
            if id(variable) not in self._index:
                raise ValueError(
                    f"Unknown variable: {variable!r}. This optimizer can only be called for the "
                    "variables it was originally built with. When working with a new set of "
                    "variables, create a new optimizer."
                )

    @staticmethod
    def _drop_missing(pairs: list[tuple]) -> list[tuple]:
        kept = [(grad, variable) for grad, variable in pairs if grad is not None]
        if not kept:
            raise ValueError("No gradients provided for any variable.")
        if len(kept) < len(pairs):
            missing = [variable.path for grad, variable in pairs if grad is None]
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss.",
                stacklevel=3,
            )
        return kept

    @staticmethod
    def _as_gradient(grad: Any, variable: Variable) -> Any:
        grad = K.to_device(grad, dtype=variable.value.dtype)
        if tuple(grad.shape) != tuple(variable.value.shape):
            raise ValueError(
                f"Gradient for variable {variable.path!r} has the wrong shape: expected "
                f"{tuple(variable.value.shape)}. Received: gradient with shape {tuple(grad.shape)}"
            )
        return grad

    def _decay_for(self, variable: Variable) -> float:
        if self.weight_decay is None or id(variable) in self._exclude_ids:
            return 0.0
        if self._exclude_pattern is not None and self._exclude_pattern.search(variable.name):
            return 0.0
        return self.weight_decay

    # --- clipping (on the device, no host sync) -----------------------------------------------

    def _constant(self, value: float, dtype: Any) -> Any:
        """A cached 0-d array holding ``value`` (kernel inputs that are usually neutral)."""
        key = (K.backend(), value, numpy.dtype(dtype).str)
        array = self._constants.get(key)
        if array is None:
            array = self._constants[key] = K.array_module().full((), value, dtype=dtype)
        return array

    def _clip_factors(self, grads: list[Any], variables: list[Variable]) -> list[tuple[Any, Any]]:
        """``(gmul, gdiv)`` per gradient: the kernels use ``grad * gmul / gdiv``."""
        if self.clipnorm:
            return [self._clipnorm_factors(g, v) for g, v in zip(grads, variables, strict=False)]
        if self.global_clipnorm:
            scale = self._global_scale(grads)
            return [(self._in_dtype(scale, g.dtype), self._constant(1.0, g.dtype)) for g in grads]
        return [(self._constant(1.0, g.dtype), self._constant(1.0, g.dtype)) for g in grads]

    def _clipnorm_factors(self, grad: Any, variable: Variable) -> tuple[Any, Any]:
        # Keras: grad * clipnorm / max(||grad||, clipnorm).
        xp = K.array_module()
        key = f"norm/{self._index[id(variable)]}"
        norm = self._clip_buffers.get(key)
        if norm is None:
            wide = kernels.accumulation_dtype(grad.dtype)
            norm = self._clip_buffers[key] = xp.zeros((), dtype=wide)
        kernels.squared_sum(grad, out=norm)
        xp.sqrt(norm, out=norm)
        xp.maximum(norm, self.clipnorm, out=norm)
        if norm.dtype == grad.dtype:
            return self._constant(self.clipnorm, grad.dtype), norm
        # 16-bit gradients: the norm (summed in float32) may not fit their dtype, the factor
        # clipnorm / max(norm, clipnorm) <= 1 does. The kernel's inputs share one dtype.
        factor = self._clip_buffers.get(key + "/factor")
        if factor is None:
            factor = self._clip_buffers[key + "/factor"] = xp.zeros((), dtype=grad.dtype)
        xp.divide(self.clipnorm, norm, out=norm)
        factor[...] = norm
        return factor, self._constant(1.0, grad.dtype)

    def _global_scale(self, grads: list[Any]) -> Any:
        # Keras: scale = c * min(1/norm, 1/c) + (norm - norm); the last term turns a non-finite
        # norm into NaN. Per-gradient squared sums go into one buffer, summed like Keras's stack.
        xp = K.array_module()
        dtype = grads[0].dtype
        wide = kernels.accumulation_dtype(dtype)  # float32 for 16-bit gradients
        squares = self._clip_buffers.get("squares")
        if squares is None or squares.shape[0] != len(grads) or squares.dtype != wide:
            squares = self._clip_buffers["squares"] = xp.zeros(len(grads), dtype=wide)
            # 0-d views, one per gradient, so each squared sum lands in place.
            views = [squares[i : i + 1].reshape(()) for i in range(len(grads))]
            self._clip_buffers["views"] = views
            self._clip_buffers["norm"] = xp.zeros((), dtype=wide)
            self._clip_buffers["scale"] = xp.zeros((), dtype=wide)
            self._clip_buffers["spare"] = xp.zeros((), dtype=wide)
        norm, scale, spare = (self._clip_buffers[k] for k in ("norm", "scale", "spare"))
        for grad, view in zip(grads, self._clip_buffers["views"], strict=False):
            kernels.squared_sum(self._in_dtype(grad, dtype), out=view)
        c = self.global_clipnorm
        with numpy.errstate(divide="ignore", invalid="ignore"):  # norm 0 or inf is expected
            xp.sum(squares, out=norm)
            xp.sqrt(norm, out=norm)
            xp.divide(1.0, norm, out=scale)
            xp.minimum(scale, 1.0 / c, out=scale)
            xp.multiply(scale, c, out=scale)
            xp.subtract(norm, norm, out=spare)
            xp.add(scale, spare, out=scale)
        return scale

    @staticmethod
    def _in_dtype(array: Any, dtype: Any) -> Any:
        return array if array.dtype == dtype else array.astype(dtype)

    # --- weight decay exclusions and EMA ------------------------------------------------------

    def exclude_from_weight_decay(
        self, var_list: Sequence[Variable] | None = None, var_names: Sequence[str] | None = None
    ) -> None:
        """Exclude variables, or variables whose name contains one of ``var_names``, from weight
        decay. Must be called before the optimizer is built."""
        if self.built:
            raise ValueError(
                "`exclude_from_weight_decay()` can only be configured before the optimizer is "
                "built."
            )
        self._exclude_ids = {id(v) for v in var_list or ()}
        names = sorted(set(var_names or ()))
        self._exclude_pattern = re.compile("|".join(names)) if names else None

    def _update_ema(self) -> None:
        # Keras: momentum is 0 on the first step (the average starts at the weights).
        op = kernels.ema_op()
        flat = self._flat
        if flat is not None and flat.holds(self._trainable, flat.grad_views):
            pairs = [(flat.values, self._flat_slots["average"])]
        else:
            pairs = [(v.value, self._slots[i]["average"]) for i, v in enumerate(self._trainable)]
        for value, average in pairs:
            ftype = numpy.dtype(value.dtype).type
            momentum = ftype(self.ema_momentum if self._iterations != 0 else 0.0)
            op(float(momentum), float(ftype(1) - momentum), value, average)
        frequency = self.ema_overwrite_frequency
        if frequency and (self._iterations + 1) % frequency == 0:
            self._overwrite_with_average(self._trainable)

    def _overwrite_with_average(self, variables: Sequence[Variable]) -> None:
        xp = K.array_module()
        for variable in variables:
            xp.copyto(variable.value, self._slots[self._index[id(variable)]]["average"])

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        """At the end of training: with ``use_ema``, set the weights to their averages."""
        if self.use_ema and self.built:
            self._overwrite_with_average(var_list)

    # --- state for saving ---------------------------------------------------------------------

    def _state(self) -> list[tuple[str, Any]]:
        xp = K.array_module()
        state: list[tuple[str, Any]] = [("iteration", xp.asarray(self._iterations, dtype="int64"))]
        if isinstance(self._learning_rate, float):
            state.append(("learning_rate", xp.asarray(self._learning_rate, dtype=K.floatx())))
        for i, slot in self._slot_order:
            prefix = self._trainable[i].path.replace("/", "_")
            state.append((f"{prefix}_{slot}", self._slots[i][slot]))
        for name, value in self._extra_state():
            state.append((name, xp.asarray(value, dtype=self._extra_dtype())))
        return state

    def _extra_dtype(self) -> Any:
        return self._trainable[0].value.dtype if self._trainable else K.floatx()

    @property
    def variables(self) -> list[Any]:
        """The optimizer's state in Keras 3's order: ``iteration``, ``learning_rate`` (absent
        with a schedule or callable), EMA averages, the slots, then scalar state (Nadam's
        ``u_product``). Slots are the live arrays; the scalars are fresh 0-d snapshots."""
        return [value for _, value in self._state()]

    @property
    def variable_names(self) -> list[str]:
        """Names parallel to :attr:`variables`, as Keras names them (``kernel_momentum``...)."""
        return [name for name, _ in self._state()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Restore state from arrays ordered like :attr:`variables` (the optimizer must be
        built)."""
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. "
                "Call `optimizer.build(trainable_variables)` first."
            )
        state = self._state()
        if len(weights) != len(state):
            raise ValueError(
                f"Expected {len(state)} arrays for optimizer {self.name!r}. "
                f"Received: {len(weights)} arrays"
            )
        for (name, current), weight in zip(state, weights, strict=False):
            if tuple(numpy.shape(weight)) != tuple(current.shape):
                raise ValueError(
                    f"Optimizer variable {name!r} has shape {tuple(current.shape)}. "
                    f"Received: weight with shape {tuple(numpy.shape(weight))}"
                )
        values = list(weights)
        self._iterations = int(numpy.asarray(K.to_host(values.pop(0))))
        if isinstance(self._learning_rate, float):
            self._learning_rate = _floatx_round(float(numpy.asarray(K.to_host(values.pop(0)))))
        for i, slot in self._slot_order:
            target = self._slots[i][slot]
            target[...] = K.to_device(values.pop(0), dtype=target.dtype)
        self._set_extra_state([float(numpy.asarray(K.to_host(v))) for v in values])

    def save_own_variables(self, store: dict[str, Any]) -> None:
        """Keras-style: ``store[str(i)]`` = host copy of ``variables[i]``."""
        for i, value in enumerate(self.variables):
            store[str(i)] = numpy.array(K.to_host(value))

    def load_own_variables(self, store: dict[str, Any]) -> None:
        """Keras-style restore; warns and skips when the number of arrays differs."""
        count = len(self._state()) if self.built else 0
        if len(store.keys()) != count or not self.built:
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because it has {count} "
                f"variables whereas the saved optimizer has {len(store.keys())} variables.",
                stacklevel=2,
            )
            return
        self.set_weights([store[str(i)] for i in range(count)])

    # --- config -------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as a dict (Keras 3's keys and order)."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            learning_rate: Any = serialize_schedule(self._learning_rate)
        else:
            learning_rate = self._learning_rate
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Optimizer:
        """An optimizer from :meth:`get_config`'s dict (schedules given as dicts are rebuilt)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = deserialize_schedule(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self._learning_rate!r}>"


def _time_based_decay(learning_rate: Any, decay: Any) -> Any:
    """Keras 1/2's ``decay=``: ``lr / (1 + decay * iterations)``, as an
    ``InverseTimeDecay`` schedule (``decay=0`` keeps the constant rate)."""
    if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or decay < 0:
        raise ValueError(f"Argument `decay` must be a number >= 0. Received: decay={decay!r}")
    warn_user(
        "Argument `decay` is deprecated; use `learning_rate=keras.optimizers.schedules."
        f"InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)`. Received: decay={decay!r}"
    )
    if decay == 0:
        return learning_rate
    if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
        raise TypeError(
            "Argument `decay` needs a float learning rate; a schedule already decays it. "
            f"Received: decay={decay!r}, learning_rate={learning_rate!r}"
        )
    return InverseTimeDecay(float(learning_rate), decay_steps=1, decay_rate=float(decay))
