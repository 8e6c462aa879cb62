"""``Layer.add_weight``'s two argument orders: Keras 3's and the Keras 2 one gpukeras's
built-in layers use.

Keras 3: ``add_weight(shape, initializer, dtype, trainable, autocast, regularizer,
constraint, aggregation, overwrite_with_gradient, name)``. Keras 2 (and every built-in
layer here): ``add_weight(name, shape, initializer, dtype, trainable, regularizer)``.
A first positional argument that is a string is a name, so the order is Keras 2's.
``set_constraints`` resolves a layer's ``*_constraint=`` arguments for its ``add_weight`` calls.
"""

from __future__ import annotations

from typing import Any

from gpukeras import constraints

_KERAS3 = (
    "shape",
    "initializer",
    "dtype",
    "trainable",
    "autocast",
    "regularizer",
    "constraint",
    "aggregation",
    "overwrite_with_gradient",
    "name",
)
_KERAS2 = ("name", "shape", "initializer", "dtype", "trainable", "regularizer")


def weight_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``{name, shape, initializer, dtype, trainable, regularizer, constraint,
    overwrite_with_gradient}`` from either order (``autocast`` and ``aggregation`` are
    accepted and have no effect here)."""
    order = _KERAS2 if args and isinstance(args[0], str) else _KERAS3
    if len(args) > len(order):
        raise TypeError(f"add_weight takes at most {len(order)} positional arguments. "
                        f"Received: {len(args)}")  # fmt: skip
    given = dict(zip(order, args))
    for key, value in kwargs.items():
        if key not in _KERAS3:
            raise TypeError(
                f"add_weight got an unexpected keyword argument {key!r}. "
                f"Expected some of: {', '.join(_KERAS3)}"
            )
        if key in given:
            raise TypeError(f"add_weight got multiple values for argument {key!r}")
        given[key] = value
    given.pop("autocast", None)  # the layer's dtype policy decides the math's dtype
    given.pop("aggregation", None)  # one process or data-parallel: replicas stay equal
    return {
        "name": given.get("name"),
        "shape": given.get("shape"),
        "initializer": given.get("initializer"),
        "dtype": given.get("dtype"),
        "trainable": given.get("trainable", True),
        "regularizer": given.get("regularizer"),
        "constraint": given.get("constraint"),
        "overwrite_with_gradient": bool(given.get("overwrite_with_gradient", False)),
    }


def adopt_weights(layer: Any, variables: Any, trainable: bool) -> None:
    """Keras 1's ``self.trainable_weights = [self.W]`` in ``build``: the variables (made
    with ``K.variable``) become the layer's own weights, with a warning at the user's line."""
    from gpukeras import backend as K  # noqa: PLC0415
    from gpukeras._legacy import warn_user  # noqa: PLC0415

    attribute = "trainable_weights" if trainable else "non_trainable_weights"
    warn_user(
        f"Assigning `{attribute}` is Keras 1's way of declaring weights; use "
        f"`self.add_weight(...)` in `build` instead. Layer: {layer.name!r}"
    )
    for variable in list(variables):
        if not hasattr(variable, "value") or not hasattr(variable, "trainable"):
            raise TypeError(
                f"`{attribute}` takes variables (`K.variable(...)` or `add_weight`). "
                f"Received: {variable!r:.80}"
            )
        variable.trainable = trainable
        if trainable and getattr(variable, "grad", None) is None:
            variable.grad = K.get_array_module(variable.value).zeros_like(variable.value)
        if all(variable is not own for own in layer._weights):
            layer._weights.append(variable)


def set_constraints(layer: Any, **given: Any) -> None:
    """``layer.kernel_constraint = constraints.get(kernel_constraint)`` and so on; the layer
    passes each to ``add_weight(constraint=...)`` for its weight."""
    for name, value in given.items():
        try:
            setattr(layer, name, constraints.get(value))
        except ValueError as error:
            raise ValueError(f"Invalid `{name}`: {error} Received: {name}={value!r}") from None
