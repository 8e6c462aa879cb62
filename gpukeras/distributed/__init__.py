"""Data-parallel training over MPI, in the style of Horovod.

Launch the same script on every rank::

    mpiexec -n 2 python -m mpi4py train.py

and in the script::

    import gpukeras.distributed as dist

    dist.init()
    model.compile(optimizer=dist.DistributedOptimizer(keras.optimizers.Adam(1e-3 * dist.size())),
                  loss=...)
    model.fit(x, y, batch_size=32, callbacks=[dist.MetricAverage(),
              dist.BroadcastGlobalVariables(0)], verbose=2 if dist.is_chief() else 0)

``fit`` then gives each rank a disjoint slice of every global batch of
``batch_size * size()`` rows, averages the gradients in one allreduce per
step, and only rank 0 prints progress and writes checkpoint, CSV, TensorBoard
and backup files. Decisions that end training (``stop_training`` from any
callback, a generator running out) are agreed by all ranks at the same step, and
an exception or ``sys.exit`` leaving ``fit`` on one rank aborts the job (see
``_agreement``). ``python -m mpi4py`` matters too: it aborts every rank when one
raises outside ``fit``. See ``docs/distributed.md``. Needs ``pip install 'gpukeras[mpi]'``.
"""

from gpukeras.distributed._broadcast_global_variables import BroadcastGlobalVariables
from gpukeras.distributed._context import (
    barrier,
    init,
    is_chief,
    is_initialized,
    local_rank,
    local_size,
    rank,
    shutdown,
    size,
)
from gpukeras.distributed._distributed_optimizer import DistributedOptimizer
from gpukeras.distributed._learning_rate_warmup import LearningRateWarmup
from gpukeras.distributed._metric_average import MetricAverage
from gpukeras.distributed._sharding import DataSharding, fit_sharding

__all__ = [
    "BroadcastGlobalVariables",
    "DataSharding",
    "DistributedOptimizer",
    "LearningRateWarmup",
    "MetricAverage",
    "barrier",
    "fit_sharding",
    "init",
    "is_chief",
    "is_initialized",
    "local_rank",
    "local_size",
    "rank",
    "shutdown",
    "size",
]
