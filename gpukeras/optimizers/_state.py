"""The optimizer's state as Keras lists it (``variables``), and saving and restoring it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.optimizers._variables import floatx_round
from gpukeras.variables import Variable


class OptimizerState:
    """Mixin of ``Optimizer``: ``variables``, ``set_weights``, ``save/load_own_variables``."""

    name: str
    built: bool
    _iterations: int
    _learning_rate: Any
    _trainable: list[Variable]
    _slots: list[dict[str, Any]]
    _slot_order: list[tuple[int, str]]

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
            self._learning_rate = floatx_round(float(numpy.asarray(K.to_host(values.pop(0)))))
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
