"""Checking the constructor arguments every optimizer shares, in Keras's words."""

from __future__ import annotations

import math
import numbers
from typing import Any

from gpukeras._legacy import warn_user
from gpukeras._naming import to_snake_case, unique_name
from gpukeras.optimizers._variables import _Default
from gpukeras.optimizers.schedules import InverseTimeDecay, LearningRateSchedule


def auto_name(cls_name: str) -> str:
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


def check_optional_positive(name: str, value: Any) -> float | None:
    if value is None:
        return None
    return check_number(name, value, low=0.0, low_inclusive=False)


def check_accumulation_steps(steps: Any) -> int | None:
    """``gradient_accumulation_steps``: None, or an int >= 2 (Keras's rule and words)."""
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 2:
        raise ValueError(
            "`gradient_accumulation_steps` must be an integer >= 2. "
            f"Received: gradient_accumulation_steps={steps!r}"
        )
    return int(steps)


def pop_legacy_kwargs(learning_rate: Any, kwargs: dict[str, Any]) -> Any:
    """``learning_rate`` after Keras 2's ``lr=`` and ``decay=``; any other leftover keyword is
    refused, listed as Keras lists them."""
    if "lr" in kwargs:
        lr = kwargs.pop("lr")
        if not isinstance(learning_rate, _Default):
            raise TypeError(
                "Got both `lr` and `learning_rate`; `lr` is the Keras 2 name of "
                f"`learning_rate`. Pass only `learning_rate`. Received: lr={lr!r}, "
                f"learning_rate={learning_rate!r}"
            )
        warn_user(f"Argument `lr` is deprecated; use `learning_rate` instead. Received: lr={lr!r}")
        learning_rate = lr
    decay = kwargs.pop("decay", None)
    if decay is not None:
        learning_rate = time_based_decay(learning_rate, decay)
    if kwargs:
        listed = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        raise ValueError(f"Argument(s) not recognized: {sorted(kwargs)}. Received: {listed}")
    return float(learning_rate) if isinstance(learning_rate, _Default) else learning_rate


def time_based_decay(learning_rate: Any, decay: Any) -> Any:
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
