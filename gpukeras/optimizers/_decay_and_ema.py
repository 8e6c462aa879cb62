"""Weight decay exclusions and the exponential moving average of the weights (``use_ema``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.backend.kernels import optimizers as kernels
from gpukeras.optimizers._arguments import check_number
from gpukeras.variables import Variable


class WeightDecayAndEMA:
    """Mixin of ``Optimizer``: which variables decay, and the EMA slots' update."""

    weight_decay: float | None
    built: bool
    _exclude_ids: set[int]
    _exclude_pattern: re.Pattern[str] | None
    _trainable: list[Variable]
    _slots: list[dict[str, Any]]
    _index: dict[int, int]
    _flat: Any
    _flat_slots: dict[str, Any]

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

    def _decay_for(self, variable: Variable) -> float:
        if self.weight_decay is None or id(variable) in self._exclude_ids:
            return 0.0
        if self._exclude_pattern is not None and self._exclude_pattern.search(variable.name):
            return 0.0
        return self.weight_decay

    @property
    def _model_variables_moving_average(self) -> list[Any]:
        """The EMA of each trainable variable (Keras's name), in build order."""
        if not (self.use_ema and self.built):
            return []
        return [self._slot_variable("average", slots["average"]) for slots in self._slots]

    def _update_ema(self, updates: int) -> None:
        """After update number ``updates`` (0-based): ``average = m * average + (1 - m) * w``;
        Keras uses m = 0 on the first update, so the average starts at the weights."""
        op = kernels.ema_op()
        flat = self._flat
        if flat is not None and flat.holds(self._trainable, flat.grad_views):
            pairs = [(flat.values, self._flat_slots["average"])]
        else:
            pairs = [(v.value, self._slots[i]["average"]) for i, v in enumerate(self._trainable)]
        for value, average in pairs:
            ftype = numpy.dtype(value.dtype).type
            momentum = ftype(self.ema_momentum if updates != 0 else 0.0)
            op(float(momentum), float(ftype(1) - momentum), value, average)
        frequency = self.ema_overwrite_frequency
        if frequency and (updates + 1) % frequency == 0:
            self._overwrite_with_average(self._trainable)

    def _overwrite_with_average(self, variables: Sequence[Variable]) -> None:
        xp = K.array_module()
        for variable in variables:
            xp.copyto(variable.value, self._slots[self._index[id(variable)]]["average"])

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        """At the end of training: with ``use_ema``, set the weights to their averages."""
        if self.use_ema and self.built:
            self._overwrite_with_average(var_list)
