"""The optimizer base class: Keras 3's arguments, order of operations and state layout.

One step (``apply``) does, like Keras 3: build slots on first use, drop missing gradients,
overwrite ``overwrite_with_gradient`` variables, unscale by ``loss_scale_factor``, accumulate
(``gradient_accumulation_steps``), clip (clipnorm per variable, global_clipnorm over all, or
clipvalue), decay weights (``var -= var * weight_decay * lr``), run the optimizer's update,
update the EMA if asked, apply each variable's ``constraint``, then count the step. Clipping,
decay and update run as ONE fused kernel per parameter (``gpukeras.backend.kernels.optimizers``);
norms for clipping stay on the device.

The concepts live beside this file: ``_variables`` (``learning_rate``/``iterations`` as
Variables), ``_arguments`` (argument checks), ``_clipping``, ``_accumulation``, ``_decay_and_ema``,
``_state`` (``variables``, saving) and ``_flat`` (one buffer for all parameters).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.optimizers._accumulation import GradientAccumulation
from gpukeras.optimizers._arguments import (
    auto_name,
    check_accumulation_steps,
    check_number,
    check_optional_positive,
    pop_legacy_kwargs,
)
from gpukeras.optimizers._clipping import GradientClipping
from gpukeras.optimizers._decay_and_ema import WeightDecayAndEMA
from gpukeras.optimizers._flat import FlatParameters
from gpukeras.optimizers._state import OptimizerState
from gpukeras.optimizers._variables import (
    LR_0_001,
    LR_0_01,
    LearningRateAndIterations,
    checked_learning_rate,
)
from gpukeras.optimizers.schedules import LearningRateSchedule
from gpukeras.optimizers.schedules import deserialize as deserialize_schedule
from gpukeras.optimizers.schedules import serialize as serialize_schedule
from gpukeras.variables import Variable

__all__ = ["LR_0_001", "LR_0_01", "Optimizer", "check_number"]


class Optimizer(
    LearningRateAndIterations,
    GradientAccumulation,
    GradientClipping,
    WeightDecayAndEMA,
    OptimizerState,
):
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
        loss_scale_factor: default None; a float > 0: gradients are divided by it before the
            update, and ``scale_loss(loss)`` multiplies by it (static loss scaling).
        gradient_accumulation_steps: default None; an int >= 2: gradients are summed over
            that many ``apply`` calls and their mean is applied on the last one;
            ``iterations`` counts the updates. With either, the variables' own packed
            ``.grad`` buffers are unscaled and averaged in place (the next backward pass
            rewrites them), so the update stays one kernel call.
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
        learning_rate = pop_legacy_kwargs(learning_rate, kwargs)
        self.name = name if name is not None else auto_name(type(self).__name__)
        self.weight_decay = None if weight_decay is None else check_number(
            "weight_decay", weight_decay, low=0.0
        )  # fmt: skip
        self.clipnorm = check_optional_positive("clipnorm", clipnorm)
        self.clipvalue = check_optional_positive("clipvalue", clipvalue)
        self.global_clipnorm = check_optional_positive("global_clipnorm", global_clipnorm)
        if sum(arg is not None for arg in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        self._set_ema(use_ema, ema_momentum, ema_overwrite_frequency)
        self.loss_scale_factor = check_optional_positive("loss_scale_factor", loss_scale_factor)
        self.gradient_accumulation_steps = check_accumulation_steps(gradient_accumulation_steps)
        self._learning_rate = checked_learning_rate(learning_rate)
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
        groups = [(("average",), 0.0)] if self.use_ema else []
        if self.gradient_accumulation_steps:
            groups.append((("gradient_accumulator",), 0.0))
        groups += self._slot_groups()
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
        """The loss a custom ``train_step`` takes gradients of: ``loss * loss_scale_factor``
        (``loss`` itself when None); a ``LossScaleOptimizer`` multiplies by its dynamic scale
        (Keras 3's ``scale_loss``)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

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
        if not self._plain_step(variables):
            grads_now, variables = self._checked(grads_now, variables)
            grads_now, variables = self._prepared(grads_now, variables)
        if grads_now:
            self._update(grads_now, variables)
        if self.use_ema:
            self._update_ema(self._updates)
        self._apply_constraints(variables)
        self._iterations += 1

    def _update(self, grads_now: list[Any], variables: list[Variable]) -> None:
        """Clip, decay and update: one kernel call over the flat buffers when the gradients are
        still their views, else one per variable."""
        flat, decay = self._flat_layout(grads_now, variables)
        if flat is None:  # checked and converted one by one
            grads_now, variables = self._checked(grads_now, variables)
        lr = self._current_learning_rate()
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

    def _checked(self, grads: list[Any], variables: list[Variable]) -> tuple[list, list]:
        """Known variables only, missing gradients dropped (with Keras's warning), the others
        as arrays of the variable's shape and dtype."""
        self._check_known(variables)
        pairs = self._drop_missing(list(zip(grads, variables, strict=True)))
        return (
            [self._as_gradient(grad, variable) for grad, variable in pairs],
            [variable for _, variable in pairs],
        )

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
                stacklevel=4,
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
