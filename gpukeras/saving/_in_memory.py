"""HDF5 files built in memory, with Ctrl-C held back while h5py runs.

Writing HDF5 straight to disk has two failure modes this avoids. On a full
disk h5py's clean-up fails inside object deallocation and the process dies
(SIGSEGV) with a partial file left behind; built in memory, the bytes reach
the disk through plain Python writes that raise ``OSError``. And h5py frees
objects in weakref callbacks and ``__dealloc__``: a KeyboardInterrupt that
Python delivers there is printed ("Exception ignored in ...") and lost, so
training would go on after Ctrl-C. While h5py runs, SIGINT is recorded
instead, and raised as KeyboardInterrupt once h5py is done.
"""

from __future__ import annotations

import contextlib
import io
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import h5py


def hdf5_image(write: Callable[[h5py.File], Any]) -> io.BytesIO:
    """An HDF5 file in memory, filled by ``write(file)``; use ``.getbuffer()`` to save it.

    Holds one copy of the file (growing as it is written), nothing else.
    A Ctrl-C during the build raises KeyboardInterrupt when the build ends.
    """
    with interrupts_held():
        return _build(write)


def _build(write: Callable[[h5py.File], Any]) -> io.BytesIO:
    # Every h5py object lives in this frame or below it, so all are freed (and their
    # clean-up has run) before interrupts_held lets a Ctrl-C through.
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        write(file)
    return buffer


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Record SIGINT during the block; raise KeyboardInterrupt after it if one came.

    Only Python's default handler is replaced, and only in the main thread
    (the only one that receives signals); a handler of the user's is left alone.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if received:
            raise KeyboardInterrupt
