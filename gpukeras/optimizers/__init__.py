"""Optimizers with Keras 3's names, defaults and update formulas.

Elementwise, one fused kernel over all weights per step: ``SGD``, ``RMSprop``, ``Adam``,
``AdamW``, ``Adamax``, ``Nadam``, ``Adagrad``, ``Adadelta``, ``Ftrl``, ``Lion`` and
``ScheduleFreeAdamW``. With a per-matrix part (still no host read per step): ``Lamb`` (trust
ratio per variable), ``Adafactor`` (factored second moments) and ``Muon`` (Newton-Schulz
orthogonalised momentum for 2-D weights, AdamW for the rest). ``MultiOptimizer`` with an
``OptimizerMap`` trains each variable with the optimizer its path maps to;
``LossScaleOptimizer`` scales the loss for float16 training.

``get(identifier)`` accepts an id (``'sgd'``, ``'rmsprop'``, ``'adam'``, ``'adamw'``,
``'adagrad'``, ``'adadelta'``, ``'adamax'``, ``'nadam'``, ``'ftrl'``, ``'lion'``, ``'lamb'``,
``'adafactor'``, ``'muon'``, ``'schedulefreeadamw'``, any case), a Keras-style config dict
``{'class_name': ..., 'config': {...}}`` (``'LossScaleOptimizer'`` and ``'MultiOptimizer'``
too) or an optimizer instance.

As in Keras, ``optimizer.learning_rate`` (a float32 rate) and ``optimizer.iterations`` (int64)
are ``Variable``s: ``.value``, ``.assign()``, ``.numpy()``, arithmetic. They are kept on the
host, so neither reading them nor a training step reads anything from the device. Every
optimizer also takes ``gradient_accumulation_steps``, ``loss_scale_factor``, ``use_ema`` and the
clipping arguments, applies each variable's ``constraint`` after its update, and has
``stateless_apply``.
"""

from gpukeras.optimizers import schedules
from gpukeras.optimizers._adafactor import Adafactor
from gpukeras.optimizers._adagrad import Adadelta, Adagrad
from gpukeras.optimizers._adam import Adam, Adamax, AdamW, Nadam
from gpukeras.optimizers._base import Optimizer
from gpukeras.optimizers._ftrl import Ftrl
from gpukeras.optimizers._get import deserialize, get, serialize
from gpukeras.optimizers._lamb import Lamb
from gpukeras.optimizers._lion import Lion
from gpukeras.optimizers._multi_optimizer import MultiOptimizer
from gpukeras.optimizers._muon import Muon
from gpukeras.optimizers._optimizer_map import OptimizerMap
from gpukeras.optimizers._rmsprop import RMSprop
from gpukeras.optimizers._schedule_free_adamw import ScheduleFreeAdamW
from gpukeras.optimizers._sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lamb",
    "Lion",
    "LossScaleOptimizer",
    "MultiOptimizer",
    "Muon",
    "Nadam",
    "Optimizer",
    "OptimizerMap",
    "RMSprop",
    "ScheduleFreeAdamW",
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
