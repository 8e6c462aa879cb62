"""MultiOptimizer: each variable trained by its own optimizer (Keras 3.15)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.optimizers._base import Optimizer
from gpukeras.optimizers._get import serialize
from gpukeras.optimizers._optimizer_map import OptimizerMap, check_nestable


class MultiOptimizer(Optimizer):
    """Delegates each variable to the optimizer an ``OptimizerMap`` (or any callable taking a
    variable) picks for it; each sub-optimizer keeps its own slots, rate and iteration count.

    The sub-optimizers are listed in :attr:`optimizers`: the map's values, then its default,
    then any others the callable returns while building. One ``apply`` calls each
    sub-optimizer once on its variables, so each still runs its fused flat-buffer step.
    ``learning_rate`` has no meaning here and raises; set it on the sub-optimizers.
    ``variables`` lists the own ``iteration`` and (Keras's unused) ``learning_rate``, then each
    sub-optimizer's variables in :attr:`optimizers` order.

    Args:
        optimizer_map: an :class:`OptimizerMap`, a callable ``variable -> Optimizer``, or one
            optimizer (shorthand for an ``OptimizerMap`` with it as the default).
        loss_scale_factor: default None; replaces every sub-optimizer's ``loss_scale_factor``.
        name: default None (``'multi_optimizer'``, ...).
    """

    def __init__(
        self,
        optimizer_map: OptimizerMap | Callable[[Any], Optimizer],
        loss_scale_factor: float | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(optimizer_map, Optimizer):  # one optimizer for every variable
            optimizer_map = OptimizerMap(default_optimizer=optimizer_map)
        if not callable(optimizer_map):
            raise ValueError(
                "`optimizer_map` must be an OptimizerMap or a callable returning an optimizer "
                f"for a variable. Received: optimizer_map={optimizer_map!r}"
            )
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        listed = list(optimizer_map.values()) if isinstance(optimizer_map, OptimizerMap) else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for optimizer in listed + ([default] if default is not None else []):
            self._adopt(optimizer)
        self._var_to_optimizer_idx: dict[int, int] = {}

    def _adopt(self, optimizer: Optimizer) -> int:
        """``optimizer``'s index in :attr:`optimizers`, adding it (with this loss scale)."""
        for index, known in enumerate(self._inner_optimizers):
            if known is optimizer:
                return index
        optimizer.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(optimizer)
        return len(self._inner_optimizers) - 1

    @property
    def optimizers(self) -> list[Optimizer]:
        """The sub-optimizers, in the order described in the class docstring."""
        return self._inner_optimizers

    @property
    def loss_scale_factor(self) -> float | None:
        return getattr(self, "_loss_scale_factor", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: float | None) -> None:
        # Keras: the wrapper's factor is every sub-optimizer's (a LossScaleOptimizer around
        # this one sets it to None, and so turns theirs off too).
        self._loss_scale_factor = value
        for optimizer in getattr(self, "_inner_optimizers", ()):
            optimizer.loss_scale_factor = value

    @property
    def learning_rate(self) -> Any:
        raise AttributeError(
            "Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on "
            "the individual sub-optimizers instead (`optimizer.optimizers`)."
        )

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        raise AttributeError(
            "Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
            f"individual sub-optimizers instead (`optimizer.optimizers`). Received: {value!r}"
        )

    @staticmethod
    def _var_key(variable: Any) -> int:
        return id(variable)

    # --- building and applying ----------------------------------------------------------------

    def build(self, variables: Sequence[Any]) -> None:
        """Ask the map for each variable's optimizer, then build each sub-optimizer on its
        variables (each packs its own flat buffers)."""
        if self.built:
            return
        groups: dict[int, list[Any]] = {}
        routes: dict[int, int] = {}
        for variable in variables:
            optimizer = self._optimizer_map(variable)
            check_nestable(optimizer, "build")
            index = self._adopt(optimizer)
            routes[self._var_key(variable)] = index
            groups.setdefault(index, []).append(variable)
        for index, members in groups.items():
            self._inner_optimizers[index].build(members)
        self._var_to_optimizer_idx = routes
        self._trainable = list(variables)
        self._index = {id(v): i for i, v in enumerate(self._trainable)}
        self.built = True

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None):
        """One step: each ``(gradient, variable)`` goes to its sub-optimizer's ``apply`` (the
        same call forms as :meth:`Optimizer.apply`); missing gradients are skipped."""
        pairs = self._pairs(list(grads), trainable_variables)
        if not pairs:
            return
        if not self.built:
            self.build([variable for _, variable in pairs])
        self._check_known([variable for _, variable in pairs])
        by_optimizer: dict[int, list[tuple[Any, Any]]] = {}
        for grad, variable in self._drop_missing(pairs):
            index = self._var_to_optimizer_idx[self._var_key(variable)]
            by_optimizer.setdefault(index, []).append((grad, variable))
        for index in sorted(by_optimizer):
            sub_grads, sub_variables = zip(*by_optimizer[index], strict=True)
            self._inner_optimizers[index].apply(list(sub_grads), list(sub_variables))
        self._iterations += 1

    def _check_known(self, variables: list[Any]) -> None:
        for variable in variables:
            if self._var_key(variable) not in self._var_to_optimizer_idx:
                raise ValueError(
                    f"Unknown variable: {variable!r}. This MultiOptimizer was built for other "
                    "variables; create a new one for a new set of variables."
                )

    def finalize_variable_values(self, var_list: Sequence[Any]) -> None:
        for index, optimizer in enumerate(self._inner_optimizers):
            own = [v for v in var_list if self._var_to_optimizer_idx.get(id(v)) == index]
            if own:
                optimizer.finalize_variable_values(own)

    # --- state --------------------------------------------------------------------------------

    def _state(self) -> list[tuple[str, Any]]:
        xp = K.array_module()
        state = [
            ("iteration", xp.asarray(self._iterations, dtype="int64")),
            ("learning_rate", xp.asarray(0.0, dtype=K.floatx())),
        ]
        for optimizer in self._inner_optimizers:
            if optimizer.built:
                state += optimizer._state()
        return state

    @property
    def variables(self) -> list[Any]:
        """The own ``iteration`` and ``learning_rate``, then each built sub-optimizer's
        ``variables`` (the sub-optimizers list their own, so their scalars are theirs)."""
        own = Optimizer.variables.fget(self)[:2]
        return own + [v for opt in self._inner_optimizers if opt.built for v in opt.variables]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Restore from arrays ordered like :attr:`variables`."""
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. "
                "Call `optimizer.build(trainable_variables)` first."
            )
        expected = len(self._state())
        if len(weights) != expected:
            raise ValueError(
                f"Expected {expected} arrays for optimizer {self.name!r}. "
                f"Received: {len(weights)} arrays"
            )
        self._iterations = int(numpy.asarray(K.to_host(weights[0])))
        start = 2  # after the own iteration and learning_rate
        for optimizer in self._inner_optimizers:
            if optimizer.built:
                count = len(optimizer._state())
                optimizer.set_weights(list(weights[start : start + count]))
                start += count

    def exclude_from_weight_decay(self, var_list: Any = None, var_names: Any = None) -> None:
        warnings.warn(
            "MultiOptimizer has no weight decay of its own: call `exclude_from_weight_decay` "
            "on the sub-optimizers (`optimizer.optimizers`).",
            stacklevel=2,
        )

    # --- config -------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        if not isinstance(self._optimizer_map, OptimizerMap):
            raise ValueError(
                "A MultiOptimizer built on a callable cannot be saved (loading never runs "
                "code): build it on an OptimizerMap to save it. "
                f"Received: optimizer_map={self._optimizer_map!r}"
            )
        return {
            "optimizer_map": serialize(self._optimizer_map),
            "loss_scale_factor": self.loss_scale_factor,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> MultiOptimizer:
        config = dict(config)
        entry = config.get("optimizer_map")
        if not isinstance(entry, dict) or entry.get("class_name") != "OptimizerMap":
            raise ValueError(
                "A MultiOptimizer config needs an 'optimizer_map' entry serialized from an "
                f"OptimizerMap. Received: optimizer_map={entry!r}"
            )
        config["optimizer_map"] = OptimizerMap.from_config(entry.get("config") or {})
        return cls(**config)

    def __repr__(self) -> str:
        names = [optimizer.name for optimizer in self._inner_optimizers]
        return f"<MultiOptimizer name={self.name!r} optimizers={names!r}>"
