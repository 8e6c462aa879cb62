"""Optimizers with Keras 3's names, defaults and update formulas.

``get(identifier)`` accepts an id (``'sgd'``, ``'rmsprop'``, ``'adam'``, ``'adamw'``,
``'adagrad'``, ``'adadelta'``, ``'adamax'``, ``'nadam'``, any case), a Keras-style config dict
``{'class_name': ..., 'config': {...}}`` (``'LossScaleOptimizer'`` too) or an optimizer
instance.

As in Keras, ``optimizer.learning_rate`` (a float32 rate) and ``optimizer.iterations`` (int64)
are ``Variable``s: ``.value``, ``.assign()``, ``.numpy()``, arithmetic. They are kept on the
host, so neither reading them nor a training step reads anything from the device. Every
optimizer also takes ``gradient_accumulation_steps``, ``loss_scale_factor``, ``use_ema`` and the
clipping arguments, applies each variable's ``constraint`` after its update, and has
``stateless_apply``.
"""

from gpukeras.optimizers import schedules
from gpukeras.optimizers._adagrad import Adadelta, Adagrad
from gpukeras.optimizers._adam import Adam, Adamax, AdamW, Nadam
from gpukeras.optimizers._base import Optimizer
from gpukeras.optimizers._get import deserialize, get, serialize
from gpukeras.optimizers._rmsprop import RMSprop
from gpukeras.optimizers._sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "LossScaleOptimizer",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]


def __getattr__(name: str):
    # LossScaleOptimizer lives in gpukeras.mixed_precision, which imports this package: export
    # it lazily (Keras's ``keras.optimizers.LossScaleOptimizer``) to keep the import order free.
    if name == "LossScaleOptimizer":
        from gpukeras.mixed_precision import LossScaleOptimizer

        return LossScaleOptimizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
