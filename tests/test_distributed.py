"""gpukeras.distributed: the sharding rule, the optimizer wrapper and callbacks in one process
(with a fake two-rank world where needed), and real jobs under ``mpiexec -n 2``.

The mpiexec tests need mpi4py and an ``mpiexec`` (``pip install -e '.[mpi]'`` brings both,
through the ``mpich`` wheel); without them they skip, unless ``GPUKERAS_REQUIRE_MPI=1``
(set by ``.ci/run``) makes the absence a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gpukeras as keras
import gpukeras.distributed as dist
from gpukeras import backend as K
from gpukeras.callbacks import (
    BackupAndRestore,
    Callback,
    CSVLogger,
    ModelCheckpoint,
    TensorBoard,
    TerminateOnNaN,
)
from gpukeras.distributed import _context
from gpukeras.distributed._early_exit import GRACE_ENV, grace_seconds
from gpukeras.distributed._sharding import DataSharding
from gpukeras.variables import Variable
from tests.callbacks_support import MODEL_KINDS, tiny_data, tiny_model
from tests.distributed_job import make_data, make_model

REPO = Path(__file__).resolve().parents[1]
JOB = REPO / "tests" / "distributed_job.py"
FAULTS_JOB = REPO / "tests" / "distributed_faults_job.py"
HANG_LIMIT = 60  # seconds: a job that hangs fails its test instead of stalling CI
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None


def _find_mpiexec() -> str | None:
    # Prefer the launcher installed beside this Python (the mpich wheel's), which matches the
    # MPI library mpi4py loads; fall back to one on PATH.
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = _find_mpiexec()
MISSING = (
    None
    if HAVE_MPI4PY and MPIEXEC
    else "needs mpi4py and mpiexec: pip install -e '.[mpi]' (mpi4py + the mpich wheel)"
)
if MISSING and os.environ.get("GPUKERAS_REQUIRE_MPI") == "1":
    raise RuntimeError(f"GPUKERAS_REQUIRE_MPI=1 but the MPI tests cannot run: {MISSING}")
needs_mpi4py = pytest.mark.skipif(not HAVE_MPI4PY, reason=MISSING or "")
#: The jobs' backend: NumPy, unless benchmarks/gpu_check.py runs them on GPUs (NCCL).
DISTRIBUTED_BACKEND = os.environ.get("GPUKERAS_DISTRIBUTED_BACKEND", "numpy")
needs_mpiexec = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


# -- a fake world, for the single-process tests -------------------------------------
class FakeComm:
    """Two ranks that hold the same values: a sum doubles, a gather repeats."""

    def __init__(self, others=None):
        self.others = others  # what allgather reports for rank 1 (default: ours)

    def Allreduce(self, _in_place, buffer, op=None):
        buffer *= 2

    def allgather(self, value):
        return [value, value if self.others is None else self.others]

    def Barrier(self):
        pass

    def Allgather(self, own, everyone):
        self.gathered = getattr(self, "gathered", 0) + 1
        everyone[:] = own


class FakeCollectives:
    def __init__(self):
        self.reduced = []

    def allreduce_sum(self, buffer):
        self.reduced.append(buffer)
        buffer *= 2

    def broadcast(self, buffer, root=0):
        pass

    def close(self):
        pass


@pytest.fixture
def world(monkeypatch):
    """A fresh single-rank world; tests may make it look like rank ``r`` of 2."""
    fresh = _context._World()
    monkeypatch.setattr(_context, "_world", fresh)
    return fresh


def fake_two_ranks(world, rank=0, others=None):
    world.comm, world.size, world.rank = FakeComm(others), 2, rank
    world.collectives = FakeCollectives()
    return world


# -- the sharding rule ------------------------------------------------------------------
def test_full_global_batches_give_rank_r_rows_r_b_to_r_plus_1_b():
    shards = [DataSharding(r, 2, seed=0) for r in range(2)]
    assert shards[0].steps(64, 8) == 4
    for step in range(4):
        (lo0, hi0, s0), (lo1, hi1, s1) = (s.rows(64, 8, step) for s in shards)
        assert (lo0, hi0, lo1, hi1) == (16 * step, 16 * step + 8, 16 * step + 8, 16 * step + 16)
        assert s0 == s1 == 0.5


def test_a_partial_last_batch_is_split_evenly_and_weighted_by_rows():
    shards = [DataSharding(r, 2, seed=0) for r in range(2)]
    assert shards[0].steps(51, 8) == 4  # 3 full global batches of 16, then 3 rows
    (lo0, hi0, s0), (lo1, hi1, s1) = (s.rows(51, 8, 3) for s in shards)
    assert (lo0, hi0, lo1, hi1) == (48, 49, 49, 51)
    assert s0 == pytest.approx(1 / 3) and s1 == pytest.approx(2 / 3)


def test_a_tail_smaller_than_the_ranks_is_skipped_and_too_little_data_is_refused():
    assert DataSharding(0, 4, seed=0).steps(8 * 4 * 2 + 3, 8) == 2
    with pytest.raises(ValueError, match="needs at least 4 training samples.*Received: 3"):
        DataSharding(0, 4, seed=0).steps(3, 8)


def test_every_rank_draws_the_same_order_and_a_new_one_each_epoch():
    a, b = DataSharding(0, 2, seed=5), DataSharding(1, 2, seed=5)
    first = K.to_host(a.order(30, 0))
    np.testing.assert_array_equal(first, K.to_host(b.order(30, 0)))
    assert sorted(first.tolist()) == list(range(30))
    assert not np.array_equal(first, K.to_host(a.order(30, 1)))


def test_batch_indices_set_the_share_and_reset_it_when_the_epoch_ends():
    class Holder:
        local_share = None

    holder = Holder()
    sharding = DataSharding(1, 2, seed=0, optimizer=holder)
    shares = []
    for index in sharding.batch_indices(51, 8, 4, None):
        shares.append(holder.local_share)
        assert isinstance(index, slice)
    assert shares[:3] == [0.5] * 3 and shares[3] == pytest.approx(2 / 3)
    assert holder.local_share is None
    for _ in sharding.batch_indices(51, 8, 4, None):
        break  # stop_training: the generator is closed
    assert holder.local_share is None


# -- the world ----------------------------------------------------------------------------
def test_without_init_there_is_one_rank(world):
    assert (dist.rank(), dist.size(), dist.local_rank(), dist.is_chief()) == (0, 1, 0, True)
    assert not dist.is_initialized()
    dist.barrier()  # nothing to wait for
    dist.shutdown()  # nothing to release


def test_init_without_mpi4py_names_the_install_command(world, monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=re.escape("pip install 'gpukeras[mpi]'")):
        dist.init()
    assert not dist.is_initialized()


@pytest.mark.numpy_only("the host collectives are the NumPy backend's")
@needs_mpi4py
def test_init_in_a_single_process_gives_one_rank_and_shutdown_leaves(world):
    dist.init()
    dist.init()  # again: nothing happens
    assert dist.is_initialized() and (dist.rank(), dist.size(), dist.is_chief()) == (0, 1, True)
    assert _context.collectives().method == "host"
    dist.barrier()
    dist.shutdown()
    assert not dist.is_initialized()


@pytest.mark.numpy_only("the host collectives are the NumPy backend's")
@needs_mpi4py
def test_host_collectives_reduce_and_broadcast_in_place_and_refuse_strided_views():
    from mpi4py import MPI

    collectives = K.Collectives(MPI.COMM_SELF)
    assert collectives.method == "host"
    buffer = np.arange(6, dtype=np.float32)
    collectives.allreduce_sum(buffer)  # one rank: the sum is the buffer
    collectives.broadcast(buffer, root=0)
    np.testing.assert_array_equal(buffer, np.arange(6))
    with pytest.raises(ValueError, match="C-contiguous.*shape \\(3,\\)"):
        collectives.allreduce_sum(buffer[::2])
    with pytest.raises(ValueError, match="Received: method='gloo'"):
        K.Collectives(MPI.COMM_SELF, method="gloo")
    assert K.device_count() == 0
    K.use_device(0)  # NumPy: nothing to bind


# -- DistributedOptimizer in one process --------------------------------------------------
@needs_mpi4py
def test_distributed_optimizer_looks_like_the_wrapped_one(world):
    inner = keras.optimizers.Adam(learning_rate=0.002, name="my_adam")
    wrapped = dist.DistributedOptimizer(inner)
    assert isinstance(wrapped, keras.optimizers.Adam)
    assert isinstance(wrapped, dist.DistributedOptimizer)
    assert dist.DistributedOptimizer(wrapped) is wrapped
    assert wrapped.get_config() == inner.get_config()
    assert keras.optimizers.serialize(wrapped)["class_name"] == "Adam"
    assert wrapped.learning_rate == pytest.approx(0.002)
    wrapped.learning_rate = 0.01
    assert wrapped.learning_rate == pytest.approx(0.01) and wrapped.iterations == 0
    assert repr(wrapped).startswith("DistributedOptimizer(<Adam name='my_adam'")
    again = type(wrapped).from_config(wrapped.get_config())
    assert isinstance(again, dist.DistributedOptimizer)
    assert again.learning_rate == pytest.approx(0.01)
    with pytest.raises(TypeError, match="Received: optimizer='adam' of type str"):
        dist.DistributedOptimizer("adam")


@needs_mpi4py
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_one_rank_trains_exactly_like_the_wrapped_optimizer(world, kind):
    x, y = tiny_data()
    results = []
    for wrap in (False, True):
        keras.utils.set_random_seed(3)
        optimizer = keras.optimizers.Adam(0.01)
        model = tiny_model(dist.DistributedOptimizer(optimizer) if wrap else optimizer, kind=kind)
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        results.append((model.get_weights(), history.history["loss"], model.optimizer))
    (plain, plain_loss, plain_opt), (wrapped, wrapped_loss, wrapped_opt) = results
    for a, b in zip(plain, wrapped):
        np.testing.assert_array_equal(a, b)
    assert plain_loss == wrapped_loss and wrapped_opt.iterations == plain_opt.iterations == 8
    store: dict = {}
    wrapped_opt.save_own_variables(store)
    plain_opt.load_own_variables(store)  # the state layout is the wrapped optimizer's
    for a, b in zip(plain_opt.variables, wrapped_opt.variables):
        np.testing.assert_array_equal(K.to_host(a), K.to_host(b))


@needs_mpi4py
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_gradients_travel_in_one_reused_buffer_and_come_back_averaged(world, kind):
    x, y = tiny_data()
    keras.utils.set_random_seed(3)
    reference = tiny_model(keras.optimizers.SGD(0.1), kind=kind)
    reference.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    keras.utils.set_random_seed(3)
    optimizer = dist.DistributedOptimizer(keras.optimizers.SGD(0.1))
    model = tiny_model(optimizer, kind=kind)
    fake_two_ranks(world)  # two ranks holding the same gradients: their average is ours
    model.train_on_batch(x[:16], y[:16])  # builds the model's step outside fit
    for start in range(16, 64, 16):
        model.train_on_batch(x[start : start + 16], y[start : start + 16])
    reduced = world.collectives.reduced
    assert len(reduced) == 4 and all(buffer is reduced[0] for buffer in reduced)
    assert reduced[0].size == sum(w.value.size for w in model.trainable_weights)
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@needs_mpi4py
def test_local_share_weights_this_ranks_gradient(world):
    optimizer = dist.DistributedOptimizer(keras.optimizers.SGD(1.0))
    fake_two_ranks(world)
    variable = Variable(np.zeros(3, np.float32), name="w", path="w")
    variable.grad = K.to_device(np.ones(3, np.float32))
    optimizer.local_share = 0.25  # prescaled by 0.25 * 2, summed (x2), divided by 2
    optimizer.apply([variable])
    np.testing.assert_allclose(K.to_host(variable.value), [-0.5, -0.5, -0.5])


@needs_mpi4py
def test_different_variables_on_the_ranks_fail_at_the_first_step(world):
    optimizer = dist.DistributedOptimizer(keras.optimizers.SGD(0.1))
    model = tiny_model(optimizer)
    x, y = tiny_data(16)
    model.predict(x, verbose=0)  # builds it
    fake_two_ranks(world, others=[("dense/kernel", (3, 5), "float32")])
    with pytest.raises(ValueError, match=r"rank 0: \[.*\(3, 4\).*rank 1: \['dense/kernel \(3, 5\)"):
        model.train_on_batch(x, y)


# -- callbacks in one process -------------------------------------------------------------
@needs_mpi4py
def test_metric_average_averages_in_sorted_order_and_checks_keys(world):
    fake_two_ranks(world)
    callback = dist.MetricAverage()
    logs = {"loss": 0.5, "accuracy": 0.25, "note": "text"}
    callback.on_epoch_end(0, logs)  # the fake sum doubles, the mean halves: unchanged
    assert logs == {"loss": 0.5, "accuracy": 0.25, "note": "text"}
    world.comm.others = ["accuracy", "val_loss"]
    callback._checked_keys = None
    with pytest.raises(ValueError, match=r"rank 0: \['accuracy', 'loss'\]; rank 1: \['accuracy'"):
        callback.on_epoch_end(1, logs)


def test_learning_rate_warmup_ramps_from_lr_over_size_to_lr(world):
    world.size = 4  # only the size matters here; a plain optimizer does no collectives
    x, y = tiny_data(40)
    model = tiny_model(keras.optimizers.SGD(0.8, momentum=0.5))
    seen = []

    class Record(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append((float(model.optimizer.learning_rate), model.optimizer.momentum))

    history = model.fit(
        x, y, batch_size=10, epochs=3, verbose=0,
        callbacks=[dist.LearningRateWarmup(warmup_epochs=2), Record()],
    )  # fmt: skip
    expected = [0.8 / 4 * ((e + (b + 1) / 4) * 3 / 2 + 1) for e in range(2) for b in range(4)]
    np.testing.assert_allclose([lr for lr, _ in seen[:8]], expected, rtol=1e-6)
    assert [lr for lr, _ in seen[8:]] == pytest.approx([0.8] * 4)
    assert seen[0][1] == pytest.approx(0.5 * expected[0] / 0.8)  # momentum correction
    assert model.optimizer.momentum == 0.5  # restored after each batch
    assert history.history["learning_rate"] == pytest.approx([0.8 * 0.625, 0.8, 0.8])
    with pytest.raises(ValueError, match="Received: warmup_epochs=0"):
        dist.LearningRateWarmup(warmup_epochs=0)


def test_only_rank_0_writes_checkpoints_logs_and_backups(world, tmp_path):
    world.rank, world.size = 1, 2
    x, y = tiny_data(32)
    model = tiny_model()
    callbacks = [
        ModelCheckpoint(str(tmp_path / "model.weights.h5"), save_weights_only=True),
        CSVLogger(str(tmp_path / "log.csv")),
        TensorBoard(str(tmp_path / "tb")),
        BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=False),
    ]
    model.fit(x, y, epochs=2, validation_data=(x, y), callbacks=callbacks, verbose=0)
    assert list(tmp_path.iterdir()) == []
    world.rank = 0
    model.fit(x, y, epochs=2, validation_data=(x, y), callbacks=callbacks, verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "backup",
        "log.csv",
        "model.weights.h5",
        "tb",
    ]


@needs_mpi4py
def test_broadcast_global_variables_checks_root_rank(world):
    with pytest.raises(ValueError, match="Received: root_rank=-1"):
        dist.BroadcastGlobalVariables(-1)
    fake_two_ranks(world)
    callback = dist.BroadcastGlobalVariables(root_rank=2)
    callback.set_model(tiny_model())
    with pytest.raises(ValueError, match="below the number of ranks, 2. Received: root_rank=2"):
        callback.on_train_begin()


# -- agreeing on decisions in one process ---------------------------------------------------
@needs_mpi4py
@pytest.mark.parametrize(
    ("callbacks", "verbose", "per_epoch"),
    [([], 0, 2), ([], 1, 2), ([TerminateOnNaN()], 0, 2 + 4)],  # the progress bar never stops
)
def test_ranks_agree_twice_an_epoch_and_per_batch_only_with_batch_hooks(
    world, callbacks, verbose, per_epoch
):
    optimizer = dist.DistributedOptimizer(keras.optimizers.SGD(0.1))
    model = tiny_model(optimizer)
    fake_two_ranks(world)
    x, y = tiny_data(64)
    model.fit(x, y, batch_size=8, epochs=3, callbacks=callbacks, verbose=verbose)  # 4 steps each
    assert world.comm.gathered == 3 * per_epoch
    assert model._agreement.per_batch == bool(callbacks)


@needs_mpi4py
def test_a_generator_is_asked_for_a_batch_before_each_step_and_only_rank_0_shows_progress(
    world, capsys
):
    optimizer = dist.DistributedOptimizer(keras.optimizers.SGD(0.1))
    model = tiny_model(optimizer)
    fake_two_ranks(world, rank=1)
    x, y = tiny_data(64)
    batches = ((x[i : i + 8], y[i : i + 8]) for i in range(0, 64, 8))
    model.fit(batches, epochs=1, verbose=1)
    assert world.comm.gathered == 1 + 8 + 1 + 1  # epoch begins, each batch, pass ends, epoch ends
    assert capsys.readouterr().out == ""  # rank 1 stays quiet


@needs_mpi4py
def test_a_rank_whose_start_differs_makes_every_rank_raise_a_marked_error(world):
    from gpukeras.distributed._agreement import TrainingAgreement
    from gpukeras.models._progress import EpochProgress

    fake_two_ranks(world)
    ours = {"resume": None, "start": 0, "epochs": 3, "steps": 4, "sequence_batches": None}
    world.comm.others = {**ours, "batch_hooks": False, "resume": (2, 5, 0)}
    agreement = TrainingAgreement(tiny_model())
    with pytest.raises(ValueError, match="rank 0: no backup .*rank 1: epoch 3 after 5 batches"):
        agreement.check_start(None, 0, 3, 4, callbacks=[])
    world.comm.others = {**ours, "batch_hooks": True, "resume": (2, 5, 0), "epochs": 4}
    with pytest.raises(ValueError, match="different `epochs`.*epochs: rank 0: 3, rank 1: 4") as e:
        agreement.check_start(EpochProgress(2, batches_done=5), 0, 3, 4, callbacks=[])
    assert e.value._gpukeras_raised_on_every_rank  # passes through, no abort
    world.comm.others = {**ours, "batch_hooks": True}
    agreement.check_start(None, 0, 3, 4, callbacks=[])
    assert agreement.per_batch  # rank 1's hooks make every rank agree after each batch


@needs_mpi4py
def test_an_error_on_one_rank_alone_aborts_through_the_communicator(world, capsys):
    from gpukeras.distributed._agreement import TrainingAgreement, _check_same_length
    from gpukeras.distributed._early_exit import leaving_aborts_the_job

    fake_two_ranks(world, rank=1)
    aborted = []
    world.comm.Abort = aborted.append
    agreement = TrainingAgreement(tiny_model())
    with pytest.raises(SystemExit), leaving_aborts_the_job(agreement):
        sys.exit(3)  # the fake world cannot wait for the others: it aborts at once
    assert aborted == [1]
    assert "rank 1 of 2 (pid" in capsys.readouterr().err
    with pytest.raises(ValueError, match="different `epochs`"), leaving_aborts_the_job(agreement):
        start = {"sequence_batches": None, "start": 0, "steps": 4}
        _check_same_length([{**start, "epochs": 1}, {**start, "epochs": 2}])  # no abort: all raise
    assert aborted == [1]


def test_the_exit_grace_period_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv(GRACE_ENV, raising=False)
    assert grace_seconds() == 10.0
    monkeypatch.setenv(GRACE_ENV, "2.5")
    assert grace_seconds() == 2.5
    monkeypatch.setenv(GRACE_ENV, "soon")
    with pytest.raises(ValueError, match="GPUKERAS_EXIT_GRACE_SECONDS='soon'"):
        grace_seconds()


# -- real jobs under mpiexec -n 2 ---------------------------------------------------------
def run_job(out: Path, *options: str, timeout: float = 120) -> tuple[int, str, float]:
    """``mpiexec -n 2 python -m mpi4py tests/distributed_job.py out ...``: rc, output, seconds."""
    out.mkdir(parents=True, exist_ok=True)
    return run_job_script(JOB, str(out), *options, timeout=timeout)


def run_job_script(script: Path, *arguments: str, timeout: float = 120) -> tuple[int, str, float]:
    """``mpiexec -n 2 python -m mpi4py script ...``: exit status, output and seconds taken."""
    env = {
        **os.environ,
        "GPUKERAS_BACKEND": DISTRIBUTED_BACKEND,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
        "HYDRA_LAUNCHER": "fork",  # MPICH: start local ranks directly, never over ssh
        GRACE_ENV: "2",  # a rank leaving fit alone waits 2 s for the others, then aborts
        "OMPI_ALLOW_RUN_AS_ROOT": "1",  # Open MPI's mpiexec refuses root (CI) without these
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_rmaps_base_oversubscribe": "1",
    }
    command = [MPIEXEC, "-n", "2", sys.executable, "-m", "mpi4py", str(script), *arguments]
    started = time.monotonic()
    # A session of its own, so that a hung job's ranks die with the launcher.
    job = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO,
        start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = job.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        output, _ = job.communicate()
        pytest.fail(f"the job hung: no exit within {timeout} s. Output:\n{output}")
    return job.returncode, output, time.monotonic() - started


def job_weights(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    with np.load(path) as data:
        weights = [data[f"arr_{i}"] for i in range(len(data.files) - 2)]
        return weights, data["loss"]


@needs_mpiexec
@pytest.mark.parametrize("functional", [False, True])
def test_two_ranks_with_batch_b_match_one_process_with_batch_2b(tmp_path, functional):
    kind = ["--functional"] if functional else []
    code, output, _ = run_job(
        tmp_path, "--samples", "51", "--batch-size", "8", "--epochs", "4", *kind
    )
    assert code == 0, output
    rank0, loss0 = job_weights(tmp_path / "result_rank0.npz")
    rank1, loss1 = job_weights(tmp_path / "result_rank1.npz")
    # One process, batch 16, the same rows in the same order (51 = 3 * 16 + a tail of 3,
    # split 1 + 2 between the ranks and weighted by rows).
    keras.utils.set_random_seed(7)
    x, y = make_data(51)
    model = make_model(8, keras.optimizers.Adam(0.01), functional=functional)
    model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0)
    for single, a, b in zip(model.get_weights(), rank0, rank1):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, single, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(loss0, loss1)  # MetricAverage: both ranks log the mean
    # Rank 0 alone printed progress and wrote the checkpoint and the CSV log.
    assert output.count("Epoch 4/4") == 1
    assert (tmp_path / "ckpt_rank0.weights.h5").exists()
    assert not (tmp_path / "ckpt_rank1.weights.h5").exists()
    assert (tmp_path / "log_rank0.csv").exists() and not (tmp_path / "log_rank1.csv").exists()


def _assert_restart_matches(tmp_path, common, backup, expected):
    """Run the job again from ``backup``: both ranks end with the uninterrupted weights."""
    code, output, _ = run_job(tmp_path / "resumed", *common, *backup)
    assert code == 0, output
    for rank in (0, 1):
        weights, _ = job_weights(tmp_path / "resumed" / f"result_rank{rank}.npz")
        for a, b in zip(expected, weights):
            np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)


@needs_mpiexec
def test_a_rank_that_raises_aborts_the_job_and_a_restart_resumes_from_rank_0s_backup(tmp_path):
    common = ("--shuffle", "--epochs", "4", "--samples", "64")
    code, output, _ = run_job(tmp_path / "whole", *common, "--backup", str(tmp_path / "b1"))
    assert code == 0, output
    expected, _ = job_weights(tmp_path / "whole" / "result_rank0.npz")
    other, _ = job_weights(tmp_path / "whole" / "result_rank1.npz")
    for a, b in zip(expected, other):
        np.testing.assert_array_equal(a, b)  # shuffled: the ranks still agree

    backup = ("--backup", str(tmp_path / "b2"))
    fail = ("--fail-rank", "1", "--fail-epoch", "2")
    code, output, seconds = run_job(tmp_path / "broken", *common, *backup, *fail, timeout=90)
    assert code != 0 and seconds < 60, output
    assert "gpukeras.distributed: rank 1 of 2" in output and "fails on purpose" in output
    assert not (tmp_path / "broken" / "result_rank0.npz").exists()
    assert (tmp_path / "b2" / "latest.backup.npz").exists()  # written by rank 0 at epoch 2

    _assert_restart_matches(tmp_path, common, backup, expected)
    with np.load(tmp_path / "resumed" / "result_rank1.npz") as data:
        assert data["epochs"].tolist() == [2, 3]  # read rank 0's backup: resumed at epoch 2


@needs_mpiexec
def test_steps_per_epoch_splits_the_global_pass_and_a_restart_keeps_its_place(tmp_path):
    # 4 global batches a pass (51 rows: 3 * 16 + a tail of 3), 3 an epoch: epochs take
    # global batches 0-2, 3, 0-2, 3, as one process with batch 16 does.
    code, output, _ = run_job(tmp_path / "plain", "--samples", "51", "--steps-per-epoch", "3")
    assert code == 0, output
    rank0, _ = job_weights(tmp_path / "plain" / "result_rank0.npz")
    keras.utils.set_random_seed(7)
    x, y = make_data(51)
    model = make_model(8, keras.optimizers.Adam(0.01))
    with pytest.warns(UserWarning, match="ran out after 1 of the 3 batches"):
        model.fit(x, y, batch_size=16, epochs=4, steps_per_epoch=3, shuffle=False, verbose=0)
    for single, a in zip(model.get_weights(), rank0):
        np.testing.assert_allclose(a, single, atol=1e-5, rtol=0)

    # Shuffled, rank 1 failing in epoch 1 (the pass's rest): the restart goes on with that pass.
    common = ("--shuffle", "--samples", "64", "--steps-per-epoch", "3")
    code, output, _ = run_job(tmp_path / "whole", *common, "--backup", str(tmp_path / "b1"))
    assert code == 0, output
    expected, _ = job_weights(tmp_path / "whole" / "result_rank0.npz")
    backup = ("--backup", str(tmp_path / "b2"))
    fail = ("--fail-rank", "1", "--fail-epoch", "1")
    code, output, _ = run_job(tmp_path / "broken", *common, *backup, *fail, timeout=90)
    assert code != 0 and "fails on purpose" in output, output
    _assert_restart_matches(tmp_path, common, backup, expected)


@needs_mpiexec
def test_a_killed_rank_ends_the_job_and_the_output_names_it(tmp_path):
    code, output, seconds = run_job(
        tmp_path, "--fail-rank", "1", "--fail-epoch", "1", "--fail-mode", "kill", timeout=90
    )
    assert code != 0 and seconds < 60, output
    # Rank 0 listed the ranks' process ids when the job began; the launcher names the pid.
    listed = re.search(r"rank 1: pid (\d+)", output)
    assert listed, output
    assert listed.group(1) in output.replace(listed.group(0), ""), output


@needs_mpiexec
@pytest.mark.parametrize(
    ("mismatch", "detail"),
    [
        ("model", r"rank 0: weights \[\(6, 8\).*rank 1: weights \[\(6, 5\)"),
        ("data", r"rank 0: .*51 samples.*rank 1: .*50 samples"),
    ],
)
def test_ranks_with_different_models_or_data_fail_at_the_first_step(tmp_path, mismatch, detail):
    code, output, seconds = run_job(tmp_path, "--mismatch", mismatch, timeout=90)
    assert code != 0 and seconds < 60, output
    assert "the ranks disagree on the model or the data" in output, output
    assert re.search(detail, output), output


@needs_mpiexec
def test_the_example_trains_on_one_and_on_two_ranks(tmp_path):
    example = REPO / "examples" / "mnist_mlp_distributed.py"
    env = {**os.environ, "GPUKERAS_BACKEND": DISTRIBUTED_BACKEND, "OMP_NUM_THREADS": "1"}
    single = subprocess.run(
        [sys.executable, str(example), "--epochs", "3"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert single.returncode == 0, single.stdout + single.stderr
    assert "1 rank(s)" in single.stdout and "Test accuracy" in single.stdout
    code, output, _ = run_job_script(example, "--epochs", "3")
    assert code == 0, output
    assert output.count("Test accuracy") == 1 and "on 2 rank(s)" in output
    accuracy = float(re.search(r"Test accuracy: ([0-9.]+)", output).group(1))
    assert accuracy > 0.8, output


# -- faults on one rank: every rank takes the same decision (gpukeras/distributed/_agreement.py)
FAULT_SCENARIOS = (
    "nan", "stop-batch", "stop-epoch-begin", "early-stopping", "uneven-generator",
    "uneven-sequence", "backup", "interrupt-all",
)  # fmt: skip


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    """Every scenario of tests/distributed_faults_job.py, run in one job: name -> per rank."""
    out = tmp_path_factory.mktemp("faults")
    code, output, _ = run_job_script(FAULTS_JOB, str(out), *FAULT_SCENARIOS, timeout=HANG_LIMIT)
    assert code == 0, output
    results = {}
    for scenario in FAULT_SCENARIOS:
        results[scenario] = [
            json.loads((out / f"{scenario}_rank{rank}.json").read_text()) for rank in (0, 1)
        ]
    return results, output


@needs_mpiexec
def test_a_nan_in_one_ranks_shard_stops_every_rank_after_the_same_batch(faults):
    results, output = faults
    # Row 10 lies in rank 1's half of the first global batch: only its loss is NaN.
    assert [r["steps"] for r in results["nan"]] == [1, 1], results["nan"]
    assert [r["epochs"] for r in results["nan"]] == [[0], [0]]
    assert "rank(s) 1 set stop_training at batch 0 of epoch 1" in output


@needs_mpiexec
def test_stop_training_on_one_rank_stops_every_rank_where_it_was_asked(faults):
    results, output = faults
    # Rank 0 stops after batch 2 of epoch 2 (4 batches an epoch); rank 1 has no callbacks.
    assert [r["steps"] for r in results["stop-batch"]] == [7, 7], results["stop-batch"]
    assert [r["epochs"] for r in results["stop-batch"]] == [[0, 1], [0, 1]]
    # Rank 1 alone stops as epoch 2 begins: every rank trains its first batch, as Keras does.
    begin = results["stop-epoch-begin"]
    assert [r["steps"] for r in begin] == [5, 5] and begin[0]["epochs"] == [0, 1], begin
    assert "rank(s) 1 set stop_training at the start of epoch 2" in output
    # EarlyStopping on rank 1 alone: after epoch 2, at the end of which it asks to stop.
    early = results["early-stopping"]
    assert [r["epochs"] for r in early] == [[0, 1], [0, 1]] and early[0]["steps"] == 8, early
    assert "rank(s) 1 set stop_training at the end of epoch 2" in output


@needs_mpiexec
def test_uneven_generators_end_every_rank_with_an_error_naming_ranks_and_counts(faults):
    results, _ = faults
    errors = [r["error"] for r in results["uneven-generator"]]
    assert errors[0] == errors[1] and errors[0] is not None, errors
    assert "rank(s) 1 ran out after 59 batches of epoch 1" in errors[0]
    assert "rank 0: 60 or more, rank 1: 59" in errors[0]
    sequence = [r["error"] for r in results["uneven-sequence"]]
    assert sequence[0] == sequence[1] and "Sequences of different lengths" in sequence[0]
    assert "sequence_batches: rank 0: 6, rank 1: 5" in sequence[0]
    assert [r["steps"] for r in results["uneven-sequence"]] == [0, 0]


@needs_mpiexec
def test_ranks_that_would_resume_from_different_backups_all_refuse_to_start(faults):
    results, _ = faults
    errors = [r["error"] for r in results["backup"]]
    assert errors[0] == errors[1] and errors[0] is not None, errors
    assert "would resume training at different points" in errors[0]
    assert "rank 0: epoch 3 after 0 batches; rank 1: no backup (starts afresh)" in errors[0]


@needs_mpiexec
def test_an_interrupt_on_every_rank_at_once_reaches_every_script_without_an_abort(faults):
    results, output = faults
    interrupted = results["interrupt-all"]
    assert [r["error"] for r in interrupted] == ["KeyboardInterrupt"] * 2, interrupted
    assert [r["steps"] for r in interrupted] == [6, 6]  # epoch 2, batch 1: then Ctrl-C
    assert "left fit early" not in output


@needs_mpiexec
def test_a_rank_calling_sys_exit_in_fit_ends_the_job_and_is_named(tmp_path):
    code, output, seconds = run_job_script(FAULTS_JOB, str(tmp_path), "exit", timeout=HANG_LIMIT)
    assert code != 0 and seconds < HANG_LIMIT, output
    assert re.search(r"rank 1 of 2 \(pid \d+ on .*\) left fit early in epoch 2", output), output
    assert "with SystemExit: 0" in output


def test_nccl_reduces_bfloat16_where_nccl_has_it(monkeypatch):
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes")
    from types import SimpleNamespace

    from gpukeras.backend import _collectives

    constants = {"NCCL_FLOAT16": 6, "NCCL_FLOAT32": 7, "NCCL_FLOAT64": 8, "NCCL_INT32": 2}
    constants |= {"NCCL_INT64": 4, "NCCL_UINT8": 1}
    monkeypatch.setattr(_collectives, "_nccl_module", lambda: SimpleNamespace(**constants))
    with pytest.raises(TypeError, match="NCCL cannot reduce arrays of dtype bfloat16"):
        _collectives._nccl_dtype(ml_dtypes.bfloat16)
    constants["NCCL_BFLOAT16"] = 9
    assert _collectives._nccl_dtype(ml_dtypes.bfloat16) == 9
