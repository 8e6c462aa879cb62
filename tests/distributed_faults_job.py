"""Faults on one rank of a data-parallel fit, run in turn in ONE job (tests/test_distributed.py).

    mpiexec -n 2 python -m mpi4py tests/distributed_faults_job.py OUT_DIR SCENARIO [SCENARIO ...]

Each scenario fits a small model over both ranks with something going wrong on one of them
and writes ``OUT_DIR/{scenario}_rank{r}.json``: the epochs run, the optimizer steps taken and
the error ``fit`` raised (or ``null``). Errors that every rank raises together are caught, so
the next scenario runs with the ranks still in step; that they do is part of the test.
``interrupt-all`` raises KeyboardInterrupt on every rank at the same batch: it reaches every
script. ``exit`` (rank 1 alone calls ``sys.exit(0)`` in the middle of fit) ends the job, so
it comes last.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import gpukeras as keras
import gpukeras.distributed as dist
from gpukeras.callbacks import BackupAndRestore, Callback, EarlyStopping, TerminateOnNaN
from gpukeras.utils import Sequence
from tests.distributed_job import make_data, make_model


class StopAt(Callback):
    """Set ``stop_training`` after batch ``batch`` of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch: int, batch: int) -> None:
        super().__init__()
        self.at, self.epoch = (epoch, batch), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.model.stop_training = True


class ExitAt(StopAt):
    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            sys.exit(0)


class StopAtEpochBegin(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            self.model.stop_training = True


class InterruptAt(StopAt):
    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt  # as Ctrl-C under mpiexec: every rank gets SIGINT


class Batches(Sequence):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.x, self.y = make_data(4 * count)
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return self.x[4 * index : 4 * index + 4], self.y[4 * index : 4 * index + 4]


def generator(count: int):
    x, y = make_data(4 * count)
    for start in range(0, 4 * count, 4):
        yield x[start : start + 4], y[start : start + 4]


def set_up(scenario: str, rank: int, out: Path) -> tuple[object, dict]:
    """The model and the arguments of ``scenario``'s fit on ``rank``."""
    x, y = make_data(64)
    arguments: dict = {"x": x, "y": y, "batch_size": 8, "epochs": 3, "callbacks": []}
    if scenario == "nan":
        x[10, 2] = np.nan  # row 10: rank 1's part of the first global batch of 16
        arguments.update(callbacks=[TerminateOnNaN()], shuffle=False)
    elif scenario == "stop-batch":
        arguments["callbacks"] = [StopAt(1, 2)] if rank == 0 else []  # batch hooks on one rank
    elif scenario == "stop-epoch-begin":
        arguments["callbacks"] = [StopAtEpochBegin()] if rank == 1 else []
    elif scenario == "early-stopping":
        # Rank 1 alone stops when its loss has not fallen by 10 since the last epoch.
        arguments["callbacks"] = [EarlyStopping(monitor="loss", min_delta=10.0)] if rank else []
    elif scenario == "uneven-generator":
        arguments.update(x=generator(60 - rank), y=None, epochs=1)
    elif scenario == "uneven-sequence":
        arguments.update(x=Batches(6 - rank), y=None)
    elif scenario == "backup":
        arguments["callbacks"] = [BackupAndRestore(out / f"backup_rank{rank}")]
    elif scenario == "interrupt-all":
        arguments["callbacks"] = [InterruptAt(1, 1)]
    elif scenario == "exit":
        arguments["callbacks"] = [ExitAt(1, 1)] if rank == 1 else []
    keras.utils.set_random_seed(7)
    return make_model(8, dist.DistributedOptimizer(keras.optimizers.Adam(0.01))), arguments


def run(scenario: str, out: Path) -> None:
    rank = dist.rank()
    if scenario == "backup":
        # Rank 0 backs up epochs 1-2 into its own folder; rank 1's stays empty.
        model, arguments = set_up(scenario, rank, out)
        arguments["callbacks"][0].delete_checkpoint = False
        model.fit(**{**arguments, "epochs": 2}, verbose=0)
    model, arguments = set_up(scenario, rank, out)
    result = {"epochs": None, "steps": None, "error": None}
    try:
        history = model.fit(**arguments, verbose=0)
        result["epochs"] = history.epoch
    except ValueError as error:
        result["error"] = str(error)
    except KeyboardInterrupt:
        result["error"] = "KeyboardInterrupt"
    result["steps"] = int(model.optimizer.iterations)
    (out / f"{scenario}_rank{rank}.json").write_text(json.dumps(result))


def main() -> None:
    out = Path(sys.argv[1])
    dist.init(verbose=0)
    for scenario in sys.argv[2:]:
        run(scenario, out)


if __name__ == "__main__":
    main()
