"""Dynamic loss scaling for float16 training (Keras 3's ``LossScaleOptimizer``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

from gpukeras import backend as K
from gpukeras.optimizers._base import Optimizer, check_number
from gpukeras.optimizers._variables import OptimizerScalar, checked_learning_rate
from gpukeras.variables import Variable


class LossScaleOptimizer(Optimizer):
    """Wraps an optimizer and scales the loss so float16 gradients do not underflow.

    The training step multiplies the loss gradient by :attr:`dynamic_scale`; ``apply``
    divides the gradients by it again and then, like Keras 3:

    - if any gradient holds inf or NaN, skips the step (weights, slots and the inner
      optimizer's ``iterations`` unchanged), halves the scale and resets the counter;
    - otherwise applies the inner optimizer, and after ``dynamic_growth_steps``
      finite steps in a row doubles the scale.

    Deciding to skip reads one flag from the device per step (counted by
    ``backend.host_syncs()``): the price of dynamic scaling, paid only by float16 runs.

    Args:
        inner_optimizer: the optimizer to wrap (an instance or id). Required.
        initial_scale: default ``2.0 ** 15``; > 0.
        dynamic_growth_steps: default ``2000``; an int >= 1.
        name: default ``None`` (``'loss_scale_optimizer'``).
    """

    def __init__(
        self,
        inner_optimizer: Any,
        initial_scale: float = 2.0**15,
        dynamic_growth_steps: int = 2000,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        from gpukeras import optimizers

        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer no longer supports `dynamic=False`; set "
                "`loss_scale_factor` on the inner optimizer instead. Received: dynamic=False"
            )
        _refuse_inner_only_arguments(kwargs)
        if kwargs:
            names = "`, `".join(kwargs)
            raise ValueError(
                f"LossScaleOptimizer does not support arguments: `{names}`. "
                f"Received: {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}"
            )
        super().__init__(learning_rate=0.0, name=name or "loss_scale_optimizer")
        inner = optimizers.get(inner_optimizer)
        if not isinstance(inner, Optimizer) or isinstance(inner, LossScaleOptimizer):
            raise TypeError(
                "LossScaleOptimizer wraps one gpukeras optimizer. "
                f"Received: inner_optimizer={inner_optimizer!r}"
            )
        if (
            isinstance(dynamic_growth_steps, bool)
            or not isinstance(dynamic_growth_steps, (int, numpy.integer))
            or dynamic_growth_steps < 1
        ):
            raise ValueError(
                "`dynamic_growth_steps` must be an int >= 1. "
                f"Received: dynamic_growth_steps={dynamic_growth_steps!r}"
            )
        # Keras: the wrapper's dynamic scale replaces the inner optimizer's static one.
        inner.loss_scale_factor = None
        self.inner_optimizer = inner
        self.initial_scale = check_number(
            "initial_scale", initial_scale, low=0.0, low_inclusive=False
        )
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.dynamic_scale = self.initial_scale
        self.step_counter = 0
        self.skipped_steps = 0

    # --- the step -----------------------------------------------------------------------

    def scale_loss(self, loss: Any) -> Any:
        """``loss * dynamic_scale``."""
        return loss * self.dynamic_scale

    def build(self, variables: Sequence[Variable]) -> None:
        self.inner_optimizer.build(variables)
        self._trainable = list(variables)
        self.built = True

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Variable] | None = None):
        """Unscale, then apply the inner optimizer or skip the step (see the class doc)."""
        pairs = self.inner_optimizer._pairs(list(grads), trainable_variables)
        pairs = [(g, v) for g, v in pairs if g is not None]
        if not pairs:
            return
        if not self.built:
            self.build([variable for _, variable in pairs])
        gradients = [K.to_device(g) for g, _ in pairs]
        if not self._all_finite(gradients):
            self.dynamic_scale /= 2.0
            self.step_counter = 0
            self.skipped_steps += 1
            return
        variables = [variable for _, variable in pairs]
        self.inner_optimizer.apply(self._unscaled(gradients, variables), variables)
        if self.step_counter == self.dynamic_growth_steps - 1:
            self.step_counter = 0
            self.dynamic_scale *= 2.0
        else:
            self.step_counter += 1

    def _unscaled(self, gradients: list[Any], variables: list[Variable]) -> list[Any]:
        """``gradients / dynamic_scale``: in place in the variables' own gradient buffers (which
        the next step overwrites anyway, and which the inner optimizer may hold as one flat
        buffer), as new arrays for any other gradient the caller passed in."""
        inverse = 1.0 / self.dynamic_scale
        unscaled = []
        for grad, variable in zip(gradients, variables, strict=True):
            factor = numpy.dtype(grad.dtype).type(inverse)
            if variable.overwrite_with_gradient:  # Keras: taken as it is, never unscaled
                pass
            elif grad is variable.grad:
                grad *= factor
            else:
                grad = grad * factor
            unscaled.append(grad)
        return unscaled

    @staticmethod
    def _all_finite(gradients: list[Any]) -> bool:
        xp = K.get_array_module(*gradients)
        flags = xp.stack([xp.isfinite(g).all() for g in gradients])
        return bool(K.to_host(flags.all()))

    # --- delegation ---------------------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if hasattr(self, "inner_optimizer"):
            self.inner_optimizer.learning_rate = value
        else:  # the base constructor sets the (unused) own rate
            self._learning_rate = checked_learning_rate(value)

    @property
    def iterations(self) -> int:
        """The inner optimizer's step count (skipped steps do not count)."""
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        self.inner_optimizer.iterations = value

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    # --- state and config ---------------------------------------------------------------

    def _state(self) -> list[tuple[str, Any]]:
        xp = K.array_module()
        own = [
            ("iteration", xp.asarray(0, dtype="int64")),
            ("learning_rate", xp.asarray(0.0, dtype=K.floatx())),
            ("step_counter", xp.asarray(self.step_counter, dtype="int64")),
            ("dynamic_scale", xp.asarray(self.dynamic_scale, dtype="float32")),
        ]
        return own + self.inner_optimizer._state()

    def _state_variables(self) -> list[Variable]:
        own = (("iteration", "int64"), ("learning_rate", K.floatx()))
        own += (("step_counter", "int64"), ("dynamic_scale", "float32"))
        scalars = [OptimizerScalar(self, kind, dtype) for kind, dtype in own]
        return scalars + self.inner_optimizer._state_variables()

    def _read_scalar(self, kind: str) -> Any:
        if kind in ("step_counter", "dynamic_scale"):
            return getattr(self, kind)
        return super()._read_scalar(kind)

    def _write_scalar(self, kind: str, value: Any) -> None:
        if kind == "step_counter":
            self.step_counter = _checked_step_counter(self.name, value)
        elif kind == "dynamic_scale":
            self.dynamic_scale = _checked_dynamic_scale(self.name, value)
        else:
            super()._write_scalar(kind, value)

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Restore from arrays ordered like :attr:`variables` (own four, then the inner's)."""
        if len(weights) < 4:
            raise ValueError(
                f"Expected at least 4 arrays for optimizer {self.name!r}. "
                f"Received: {len(weights)} arrays"
            )
        weights = [w.value if isinstance(w, Variable) else w for w in weights]
        step_counter = _checked_step_counter(self.name, numpy.asarray(K.to_host(weights[2])))
        dynamic_scale = _checked_dynamic_scale(self.name, numpy.asarray(K.to_host(weights[3])))
        self.inner_optimizer.set_weights(list(weights[4:]))
        self.step_counter = step_counter
        self.dynamic_scale = dynamic_scale

    def get_config(self) -> dict[str, Any]:
        from gpukeras.optimizers import serialize

        return {
            "name": self.name,
            "inner_optimizer": serialize(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        from gpukeras.optimizers import deserialize

        config = dict(config)
        inner = config.pop("inner_optimizer")
        return cls(deserialize(inner) if isinstance(inner, dict) else inner, **config)


def _checked_step_counter(name: str, value: Any) -> int:
    counter = numpy.asarray(value)
    if counter.shape or counter.dtype.kind not in "iu" or counter < 0:
        raise ValueError(
            f"Optimizer {name!r}: step_counter must be an int >= 0. "
            f"Received: step_counter={value!r}"
        )
    return int(counter)


def _checked_dynamic_scale(name: str, value: Any) -> float:
    scale = float(numpy.asarray(value))
    if not (numpy.isfinite(scale) and scale > 0):
        raise ValueError(
            f"Optimizer {name!r}: dynamic_scale must be finite and > 0. "
            f"Received: dynamic_scale={scale!r}"
        )
    return scale


#: Optimizer arguments that only mean something on the wrapped optimizer, with the defaults an
#: old saved config may still carry (accepted, as Keras does, so such configs load).
_INNER_ONLY_DEFAULTS = {
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _refuse_inner_only_arguments(kwargs: dict[str, Any]) -> None:
    """Remove the inner-only arguments from ``kwargs``; a non-default one is a ValueError in
    Keras's words. Silently dropping ``clipnorm=0.5`` would apply unclipped gradients."""
    for name, default in _INNER_ONLY_DEFAULTS.items():
        if name not in kwargs:
            continue
        value = kwargs.pop(name)
        if value is not default and value != default:
            raise ValueError(
                f"LossScaleOptimizer does not support `{name}`. Instead, set `{name}` on the "
                f"`inner_optimizer`. Received: {name}={value!r}"
            )


def auto_scale(optimizer: Any, enabled: bool = True) -> Any:
    """``optimizer`` wrapped in a LossScaleOptimizer when the global policy is mixed_float16.

    What Keras 3's ``compile(auto_scale_loss=True)`` does; other policies, an optimizer
    already wrapped, ``None`` or ``enabled=False`` return ``optimizer`` unchanged.
    """
    from gpukeras.mixed_precision._policy import global_policy

    if (
        not enabled
        or optimizer is None
        or isinstance(optimizer, LossScaleOptimizer)
        or global_policy().name != "mixed_float16"
    ):
        return optimizer
    return LossScaleOptimizer(optimizer)
