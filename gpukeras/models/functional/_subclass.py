"""A Model subclass built with inputs and outputs: a functional model with its own methods.

Keras lets ``class CustomModel(keras.Model)`` (with its own ``train_step``, say) be made
as ``CustomModel(inputs, outputs)``, or call ``super().__init__(inputs=..., outputs=...)``
from its ``__init__``: the subclass then is a ``Functional`` underneath. As in Keras,
``Functional`` is put in the place of ``Model`` among the subclass's bases (once per
class), then initialized.
"""

from __future__ import annotations

from typing import Any


def become_functional(model: Any, args: tuple, kwargs: dict[str, Any]) -> None:
    """Make ``model`` (an instance of a Model subclass) a functional model of the graph."""
    from gpukeras.layers import _call
    from gpukeras.models.functional._functional import Functional

    cls = type(model)
    if not issubclass(cls, Functional):
        _inject(cls)
        _call._defines_call.cache_clear()  # the class now inherits Functional.call
    Functional.__init__(model, *args, **kwargs)


def _inject(cls: type) -> type:
    from gpukeras.models._model import Model
    from gpukeras.models.functional._functional import Functional

    if cls is Model:
        return Functional
    if cls is object or not issubclass(cls, Model):
        return cls
    cls.__bases__ = tuple(_inject(base) for base in cls.__bases__)
    return cls
