"""Collective operations on backend arrays across MPI ranks, and binding a rank to its GPU.

``gpukeras.distributed`` hands this module an mpi4py communicator; the arrays
it reduces never leave their device when they need not:

- NumPy arrays: MPI ``Allreduce``/``Bcast`` on the host buffers, in place.
- CuPy arrays, in this order of preference:
  ``'nccl'``: NCCL through ``cupy.cuda.nccl`` (its unique id is broadcast over
  MPI), enqueued on the current stream so the next kernels wait for it;
  ``'cuda-mpi'``: a CUDA-aware MPI reading the device buffers directly (after
  the stream is synchronised); ``'staged'``: a copy to the host, MPI, a copy
  back (works everywhere, slowest).

``GPUKERAS_COLLECTIVES=auto|nccl|cuda-mpi|staged`` overrides the choice for
CuPy arrays. The CuPy paths were written without a GPU to run them on; the
host path is the one the tests exercise.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

import numpy

from gpukeras.backend._select import array_module, backend, is_device_array
from gpukeras.backend._transfer import to_device, to_host

COLLECTIVES_ENV_VAR = "GPUKERAS_COLLECTIVES"
_METHODS = ("auto", "nccl", "cuda-mpi", "staged")
# Library names under which MPI implementations export MPIX_Query_cuda_support.
_MPI_LIBRARIES = ("libmpi.so.40", "libmpi.so.12", "libmpi.so")


def device_count() -> int:
    """How many CUDA devices this process sees (0 on the NumPy backend)."""
    if backend() != "cupy":
        return 0
    return int(array_module().cuda.runtime.getDeviceCount())


def use_device(index: int) -> None:
    """Make CUDA device ``index`` current for this process (a no-op on NumPy).

    Call it before any array is made: arrays stay on the device that was
    current when they were created.

    Args:
        index: A device number in ``[0, device_count())``. Required.
    """
    if backend() != "cupy":
        return
    count = device_count()
    if isinstance(index, bool) or not isinstance(index, (int, numpy.integer)):
        raise TypeError(f"`index` must be an int. Received: index={index!r}")
    if not 0 <= index < count:
        raise ValueError(
            f"`index` must name one of this process's {count} CUDA device(s), "
            f"0 to {count - 1}. Received: index={index}"
        )
    array_module().cuda.Device(int(index)).use()


class Collectives:
    """Sum-allreduce and broadcast of backend arrays over an mpi4py communicator.

    Creating one is collective (every rank of ``comm`` must do it): on CuPy
    with NCCL it sets up the NCCL communicator.

    Args:
        comm: An ``mpi4py.MPI.Comm``. Required.
        method: How CuPy arrays are reduced: ``'auto'``, ``'nccl'``,
            ``'cuda-mpi'`` or ``'staged'`` (see the module docstring); default
            ``None`` (``$GPUKERAS_COLLECTIVES``, else ``'auto'``).
    """

    def __init__(self, comm: Any, method: str | None = None) -> None:
        from mpi4py import MPI

        self._mpi = MPI
        self.comm = comm
        requested = method or os.environ.get(COLLECTIVES_ENV_VAR, "auto") or "auto"
        if requested not in _METHODS:
            raise ValueError(
                f"`method` must be one of {', '.join(map(repr, _METHODS))}. "
                f"Received: method={requested!r}"
            )
        self.method = "host" if backend() != "cupy" else _device_method(requested)
        self._nccl: Any = None
        if self.method == "nccl":
            self._nccl = _nccl_communicator(comm)

    def allreduce_sum(self, buffer: Any) -> None:
        """Replace ``buffer`` (contiguous) by its elementwise sum over all ranks."""
        if not is_device_array(buffer):
            self.comm.Allreduce(self._mpi.IN_PLACE, _contiguous(buffer), op=self._mpi.SUM)
        elif self.method == "nccl":
            nccl = _nccl_module()
            stream = array_module().cuda.get_current_stream()
            self._nccl.allReduce(
                buffer.data.ptr, buffer.data.ptr, buffer.size, _nccl_dtype(buffer.dtype),
                nccl.NCCL_SUM, stream.ptr,
            )  # fmt: skip
        elif self.method == "cuda-mpi":
            array_module().cuda.get_current_stream().synchronize()
            self.comm.Allreduce(self._mpi.IN_PLACE, _contiguous(buffer), op=self._mpi.SUM)
        else:
            host = numpy.ascontiguousarray(to_host(buffer))
            self.comm.Allreduce(self._mpi.IN_PLACE, host, op=self._mpi.SUM)
            buffer[...] = to_device(host)

    def broadcast(self, buffer: Any, root: int = 0) -> None:
        """Overwrite ``buffer`` on every rank with ``root``'s values, in place."""
        if not is_device_array(buffer):
            target = _contiguous(buffer)
            self.comm.Bcast(target, root=root)
        elif self.method == "nccl":
            stream = array_module().cuda.get_current_stream()
            self._nccl.broadcast(
                buffer.data.ptr, buffer.data.ptr, buffer.size, _nccl_dtype(buffer.dtype),
                root, stream.ptr,
            )  # fmt: skip
        elif self.method == "cuda-mpi":
            array_module().cuda.get_current_stream().synchronize()
            self.comm.Bcast(_contiguous(buffer), root=root)
        else:
            host = numpy.ascontiguousarray(to_host(buffer))
            self.comm.Bcast(host, root=root)
            buffer[...] = to_device(host)

    def close(self) -> None:
        """Release the NCCL communicator, if any."""
        if self._nccl is not None:
            self._nccl.destroy()
            self._nccl = None


def _contiguous(buffer: Any) -> Any:
    # MPI reads and writes raw memory: a strided view would be garbled, so refuse it.
    if not buffer.flags.c_contiguous:
        raise ValueError(
            "Collective operations need C-contiguous buffers. "
            f"Received: an array of shape {tuple(buffer.shape)} with strides {buffer.strides}"
        )
    return buffer


def _device_method(requested: str) -> str:
    if requested != "auto":
        if requested == "nccl" and not _nccl_available():
            raise RuntimeError(
                f"{COLLECTIVES_ENV_VAR}='nccl' was requested but CuPy has no NCCL "
                "(cupy.cuda.nccl.available is False). Install NCCL for your CUDA "
                "(e.g. pip install nvidia-nccl-cu12) or choose 'cuda-mpi' or 'staged'."
            )
        return requested
    if _nccl_available():
        return "nccl"
    return "cuda-mpi" if mpi_is_cuda_aware() else "staged"


def _nccl_module() -> Any:
    from cupy.cuda import nccl

    return nccl


def _nccl_available() -> bool:
    try:
        return bool(_nccl_module().available)
    except Exception:  # noqa: BLE001 - any import or library error means "no NCCL"
        return False


def _nccl_communicator(comm: Any) -> Any:
    nccl = _nccl_module()
    unique_id = nccl.get_unique_id() if comm.rank == 0 else None
    unique_id = comm.bcast(unique_id, root=0)
    return nccl.NcclCommunicator(comm.size, unique_id, comm.rank)


def _nccl_dtype(dtype: Any) -> int:
    nccl = _nccl_module()
    table = {
        "float16": nccl.NCCL_FLOAT16,
        "float32": nccl.NCCL_FLOAT32,
        "float64": nccl.NCCL_FLOAT64,
        "int32": nccl.NCCL_INT32,
        "int64": nccl.NCCL_INT64,
        "uint8": nccl.NCCL_UINT8,
    }
    if hasattr(nccl, "NCCL_BFLOAT16"):  # NCCL 2.10+: bfloat16 gradients reduce natively
        table["bfloat16"] = nccl.NCCL_BFLOAT16
    name = numpy.dtype(dtype).name
    if name not in table:
        raise TypeError(f"NCCL cannot reduce arrays of dtype {name}. Received: dtype={name}")
    return table[name]


def mpi_is_cuda_aware() -> bool:
    """Whether the loaded MPI library says it reads CUDA device memory.

    Open MPI and MPICH export ``MPIX_Query_cuda_support``; a library without
    it, or that answers 0, counts as not CUDA-aware.
    """
    mode = getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL
    for name in _MPI_LIBRARIES:
        try:
            library = ctypes.CDLL(name, mode=mode)  # only finds a library already loaded
            return bool(library.MPIX_Query_cuda_support())
        except (OSError, AttributeError):
            continue
    return False
