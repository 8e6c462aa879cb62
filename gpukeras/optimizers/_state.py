"""The optimizer's state as Keras lists it (``variables``), and saving and restoring it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.optimizers._variables import OptimizerScalar, floatx_round
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

    def _state_variables(self) -> list[Variable]:
        """:meth:`_state` as Keras's variables: the slots wrap their live arrays (made once,
        so each keeps its identity); the scalars are :class:`OptimizerScalar` handles."""
        variables: list[Variable] = []
        for name, value in self._state():
            if value.ndim == 0 and name in ("iteration", "learning_rate"):
                variables.append(OptimizerScalar(self, name, value.dtype))
            elif value.ndim == 0 and name in dict(self._extra_state()):
                variables.append(OptimizerScalar(self, f"extra/{name}", value.dtype))
            else:
                variables.append(self._slot_variable(name, value))
        return variables

    def _slot_variable(self, name: str, array: Any) -> Variable:
        cache = self.__dict__.setdefault("_slot_variables", {})
        variable = cache.get(id(array))
        if variable is None or variable.value is not array:
            variable = cache[id(array)] = Variable(array, name=name, trainable=False)
        return variable

    @property
    def variables(self) -> list[Variable]:
        """The optimizer's state as Keras's Variables, in Keras 3's order: ``iteration``,
        ``learning_rate`` (absent with a schedule or callable), EMA averages, gradient
        accumulators, the slots, then scalar state (Nadam's ``u_product``). Slot Variables
        share the live arrays: ``assign`` writes the optimizer's state in place."""
        return self._state_variables()

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
        weights = [w.value if isinstance(w, Variable) else w for w in weights]
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
        for i, (_, value) in enumerate(self._state()):
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

    def stateless_apply(
        self, optimizer_variables: Sequence[Any], grads: Sequence[Any], trainable_variables: Any
    ) -> tuple[list[Any], list[Any]]:
        """Keras's functional step: the updated trainable values and optimizer state for the
        given ones, leaving this optimizer and its variables as they were (the step runs on
        the optimizer's own buffers, then they are restored)."""
        if not self.built:
            raise ValueError(
                f"To call `stateless_apply`, {type(self).__name__} must be built (i.e. its "
                "variables must have been created). You can build it via "
                "`optimizer.build(trainable_variables)`."
            )
        state = self._state()
        if len(optimizer_variables) != len(state):
            raise ValueError(
                "Argument `optimizer_variables` must be a list of tensors corresponding 1:1 to "
                f"{type(self).__name__}().variables. Received list with length "
                f"{len(optimizer_variables)}, but expected {len(state)} variables."
            )
        if len(trainable_variables) != len(self._trainable):
            raise ValueError(
                "Argument `trainable_variables` must correspond 1:1 to the variables the "
                f"optimizer was built with. Received {len(trainable_variables)} values for "
                f"{len(self._trainable)} variables."
            )
        xp = K.array_module()
        saved_state = [xp.array(value, copy=True) for _, value in state]
        saved_values = [xp.array(v.value, copy=True) for v in self._trainable]
        try:
            self.set_weights(list(optimizer_variables))
            for variable, value in zip(self._trainable, trainable_variables, strict=True):
                variable.value[...] = K.to_device(getattr(value, "value", value))
            self.apply(list(grads))
            new_values = [xp.array(v.value, copy=True) for v in self._trainable]
            new_state = [xp.array(value, copy=True) for _, value in self._state()]
        finally:
            self.set_weights(saved_state)
            for variable, value in zip(self._trainable, saved_values, strict=True):
                variable.value[...] = value
        return new_values, new_state
