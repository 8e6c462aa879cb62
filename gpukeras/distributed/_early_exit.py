"""What happens when an exception (or ``sys.exit``, or Ctrl-C) leaves a data-parallel ``fit``.

Raised on one rank only, it would leave the other ranks waiting in their next
collective forever. So the rank first waits a short grace period
(``GPUKERAS_EXIT_GRACE_SECONDS``, default 10) for the other ranks to leave too,
on a communicator of its own (a non-blocking barrier, so nothing else is
disturbed):

- when every rank leaves within it (Ctrl-C reaches every rank; a callback calls
  ``sys.exit`` on every rank at the same epoch), the exception goes on as usual
  on each rank: ``sys.exit(0)`` still ends the job with status 0;
- otherwise the rank prints its traceback (for an error) and a line naming
  itself, and calls ``MPI_Abort``: the launcher ends every rank, non-zero.

Errors that the ranks raise together by construction (``TrainingAgreement``'s)
pass through at once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import traceback
from collections.abc import Iterator
from typing import Any

from gpukeras.distributed import _context
from gpukeras.distributed._agreement import TrainingAgreement, raised_on_every_rank

GRACE_ENV = "GPUKERAS_EXIT_GRACE_SECONDS"
DEFAULT_GRACE_SECONDS = 10.0
ABORT_OUTPUT_PAUSE_SECONDS = 0.5


@contextlib.contextmanager
def leaving_aborts_the_job(agreement: TrainingAgreement | None) -> Iterator[None]:
    """Run the block; an exception leaving it on some ranks only aborts the job.

    Does nothing without an ``agreement`` (a fit that is not data-parallel).
    """
    if agreement is None:
        yield
        return
    exit_comm = _context.exit_communicator()
    try:
        yield
    except BaseException as error:
        if raised_on_every_rank(error) or _every_rank_leaves(exit_comm, grace_seconds()):
            raise
        _abort(agreement, error)
        raise  # only reached when the communicator cannot abort (a test's fake)


def grace_seconds() -> float:
    """How long a rank leaving ``fit`` waits for the others (``GPUKERAS_EXIT_GRACE_SECONDS``)."""
    text = os.environ.get(GRACE_ENV, "")
    try:
        value = float(text) if text else DEFAULT_GRACE_SECONDS
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(
            f"{GRACE_ENV} must be a number of seconds >= 0. Received: {GRACE_ENV}={text!r}"
        )
    return value


def _every_rank_leaves(exit_comm: Any, grace: float) -> bool:
    """Whether every rank reaches this point within ``grace`` seconds."""
    if exit_comm is None:
        return False
    request = exit_comm.Ibarrier()
    deadline = time.monotonic() + grace
    while not request.Test():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


def _abort(agreement: TrainingAgreement, error: BaseException) -> None:
    progress = getattr(agreement.model, "_epoch_progress", None)
    where = ""
    if progress is not None:
        where = f" in epoch {progress.epoch + 1} after {progress.batches_done} batches"
    what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if not isinstance(error, (SystemExit, KeyboardInterrupt)):
        traceback.print_exception(type(error), error, error.__traceback__)
    _context.say(
        f"rank {agreement.rank} of {agreement.size} (pid {os.getpid()} on "
        f"{socket.gethostname()}) left fit early{where} with {what}, and the other ranks did "
        "not: they cannot go on without it, so the job is aborted"
    )
    abort = getattr(_context.communicator(), "Abort", None)
    if abort is not None:
        _let_the_launcher_forward_output()
        abort(1)


def _let_the_launcher_forward_output() -> None:
    """Flush, then pause briefly: MPI_Abort kills every rank at once, and output that the
    launcher has not yet read from this rank's pipes (the traceback just printed) is lost."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    time.sleep(ABORT_OUTPUT_PAUSE_SECONDS)
