"""The MPI world this process belongs to: ``init``, ranks, and the collectives built on it.

Before :func:`init` (or in a process started without ``mpiexec``) there is one
rank: ``rank() == 0``, ``size() == 1``, ``is_chief()`` is true, and nothing
imports mpi4py.
"""

from __future__ import annotations

import os
import socket
import sys
import warnings
from typing import Any

from gpukeras import backend as K

INSTALL_HINT = "pip install 'gpukeras[mpi]'"


class _World:
    """This process's place among the ranks (one per process)."""

    def __init__(self) -> None:
        self.comm: Any = None
        self.rank = 0
        self.size = 1
        self.local_rank = 0
        self.local_size = 1
        self.collectives: Any = None
        self.previous_excepthook: Any = None
        self.exit_comm: Any = None  # see exit_communicator()

    def reset(self) -> None:
        """Back to one rank (after :func:`shutdown`)."""
        self.__init__()

    @property
    def initialized(self) -> bool:
        return self.comm is not None


_world = _World()


def init(comm: Any = None, verbose: int = 1) -> None:
    """Join the MPI job: find this rank, bind it to its local GPU, set up the collectives.

    Calling it again does nothing. Under ``mpiexec -n N python -m mpi4py
    script.py`` every rank must call it (it is collective); a script started
    without ``mpiexec`` gets one rank. On the CuPy backend, rank ``r`` of a
    node uses that node's GPU ``r`` (GPU 0 when the launcher gives each rank
    exactly one visible GPU), so call ``init()`` before making any array.

    With more than one rank, an uncaught exception prints which rank raised
    it; launched through ``python -m mpi4py``, it then aborts every rank
    instead of leaving them waiting in a collective.

    Args:
        comm: The ``mpi4py.MPI.Comm`` to train over; default ``None``
            (``MPI.COMM_WORLD``).
        verbose: With more than one rank, rank 0 prints one line to stderr
            mapping each rank to its process id and host (so a launcher's
            report about a killed PID names the rank); ``0`` stays quiet;
            default ``1``.

    Raises:
        ImportError: mpi4py is not installed (``pip install 'gpukeras[mpi]'``).
    """
    if _world.initialized:
        return
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD if comm is None else comm
    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.rank)
    local_rank, local_size = local.rank, local.size
    local.Free()
    _bind_local_gpu(comm.rank, local_rank)
    _world.collectives = K.Collectives(comm)
    _world.comm, _world.rank, _world.size = comm, comm.rank, comm.size
    _world.local_rank, _world.local_size = local_rank, local_size
    if _world.size > 1:
        exit_communicator()  # made here, where every rank is, rather than in fit
        _install_excepthook()
        _warn_without_mpi4py_runner()
        _announce_ranks(verbose)


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            "gpukeras.distributed needs mpi4py (and an MPI library). Install both with: "
            f"{INSTALL_HINT}  (Received: ImportError: {error})"
        ) from None
    return MPI


def _bind_local_gpu(rank_number: int, local_rank_number: int) -> None:
    count = K.device_count()
    if count == 0:
        return  # NumPy backend
    if count == 1:
        K.use_device(0)  # the launcher gave this rank its own GPU (CUDA_VISIBLE_DEVICES)
        return
    if local_rank_number >= count:
        raise RuntimeError(
            f"Rank {rank_number} is local rank {local_rank_number} on its node, which has only "
            f"{count} GPUs: start at most one rank per GPU, or set GPUKERAS_BACKEND=numpy. "
            f"Received: local_rank={local_rank_number}, GPUs={count}"
        )
    K.use_device(local_rank_number)


def _install_excepthook() -> None:
    _world.previous_excepthook = sys.excepthook

    def excepthook(kind: Any, value: Any, traceback: Any) -> None:
        sys.stderr.write(
            f"gpukeras.distributed: rank {_world.rank} of {_world.size} (pid {os.getpid()} on "
            f"{socket.gethostname()}) failed with {kind.__name__}: {value}\n"
        )
        _world.previous_excepthook(kind, value, traceback)
        sys.stderr.flush()

    sys.excepthook = excepthook


def _warn_without_mpi4py_runner() -> None:
    if _world.rank == 0 and "mpi4py.run" not in sys.modules:
        warnings.warn(
            "gpukeras.distributed: this job was not started through `python -m mpi4py`, so a "
            "rank that raises leaves the others waiting forever. Launch with: mpiexec -n "
            f"{_world.size} python -m mpi4py your_script.py",
            stacklevel=3,
        )


def _announce_ranks(verbose: int) -> None:
    places = _world.comm.gather((os.getpid(), socket.gethostname()), root=0)
    if verbose and _world.rank == 0:
        listed = ", ".join(f"rank {r}: pid {pid} on {host}" for r, (pid, host) in enumerate(places))
        sys.stderr.write(f"gpukeras.distributed: {_world.size} ranks ({listed})\n")
        sys.stderr.flush()


def shutdown() -> None:
    """Leave the job: release the collectives and go back to one rank.

    MPI itself is finalised by mpi4py when the process exits.
    """
    if not _world.initialized:
        return
    _world.collectives.close()
    if _world.exit_comm is not None:
        _world.exit_comm.Free()
    if _world.previous_excepthook is not None:
        sys.excepthook = _world.previous_excepthook
    _world.reset()


def is_initialized() -> bool:
    """Whether :func:`init` has been called (and :func:`shutdown` not since)."""
    return _world.initialized


def rank() -> int:
    """This process's rank, ``0`` to ``size() - 1`` (0 before :func:`init`)."""
    return _world.rank


def size() -> int:
    """How many ranks train together (1 before :func:`init`)."""
    return _world.size


def local_rank() -> int:
    """This process's rank among the ranks on its node (its GPU number)."""
    return _world.local_rank


def local_size() -> int:
    """How many ranks share this process's node."""
    return _world.local_size


def is_chief() -> bool:
    """Whether this is rank 0, the one that prints progress and writes files."""
    return _world.rank == 0


def barrier() -> None:
    """Wait until every rank gets here (nothing to wait for with one rank)."""
    if _world.initialized:
        _world.comm.Barrier()


def communicator() -> Any:
    """The mpi4py communicator (``None`` before :func:`init`)."""
    return _world.comm


def exit_communicator() -> Any:
    """A duplicate of the job's communicator, kept for ranks leaving ``fit`` to meet on
    (see ``_early_exit``), so that their barrier never mixes with training's collectives.

    Made by :func:`init` (duplicating is collective); ``None`` with one rank or with a
    communicator that cannot be duplicated (a test's fake).
    """
    if _world.exit_comm is None and _world.size > 1 and hasattr(_world.comm, "Dup"):
        _world.exit_comm = _world.comm.Dup()
    return _world.exit_comm


def say(message: str) -> None:
    """Write ``gpukeras.distributed: message`` to stderr at once (ranks' output interleaves)."""
    sys.stderr.write(f"gpukeras.distributed: {message}\n")
    sys.stderr.flush()


def collectives() -> Any:
    """The :class:`gpukeras.backend.Collectives` of this job (``None`` before :func:`init`)."""
    return _world.collectives


def allgather(value: Any) -> list[Any]:
    """Every rank's ``value`` (small, picklable), in rank order; ``[value]`` with one rank."""
    if not _world.initialized or _world.size == 1:
        return [value]
    return _world.comm.allgather(value)


def broadcast_object(value: Any, root: int = 0) -> Any:
    """``root``'s ``value`` (small, picklable) on every rank."""
    if not _world.initialized or _world.size == 1:
        return value
    return _world.comm.bcast(value, root=root)
