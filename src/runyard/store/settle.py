"""Read-your-writes while runs finish in the background.

``run.complete()`` hands what is left of a run's ingest (the rest of its journal, then
its final status) to a finisher thread and returns: the points are already durable in
the journal. Until every finisher of this process is done, any other access of this
process to a store waits for them (``wait``, called where every store call starts), so
the process reads back all it logged, with the status it asked for, as if ``complete()``
had waited. Other processes see the run active until the finisher sets its status, and
never a final status before the last point: the status is written after the drain.

The finishers and ingest threads themselves never wait (``exempt``): they would wait
for themselves. Nor does a call made inside a store transaction, which may hold the
database's write lock a finisher needs.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

__all__ = ["begin", "end", "exempt", "exempt_thread", "pending", "wait"]

_cond = threading.Condition()
_pending = 0
_local = threading.local()


def pending() -> int:
    """How many finishers of this process are under way."""
    return _pending


def begin() -> None:
    """A finisher starts (call before starting its thread)."""
    global _pending
    with _cond:
        _pending += 1


def end() -> None:
    """A finisher is done (call from it, whatever happened)."""
    global _pending
    with _cond:
        _pending -= 1
        _cond.notify_all()


def wait() -> None:
    """Returns once no finisher is under way, unless this thread is exempt."""
    if _pending and not getattr(_local, "exempt", 0):
        with _cond:
            _cond.wait_for(lambda: _pending == 0)


@contextlib.contextmanager
def exempt() -> Iterator[None]:
    """Store calls of this thread inside the block do not wait."""
    _local.exempt = getattr(_local, "exempt", 0) + 1
    try:
        yield
    finally:
        _local.exempt -= 1


def exempt_thread() -> None:
    """This thread's store calls never wait (an ingest thread's)."""
    _local.exempt = getattr(_local, "exempt", 0) + 1


def _after_fork_in_child() -> None:
    # The parent's finishers are not in the child: it must not wait for them.
    global _cond, _pending
    _cond, _pending = threading.Condition(), 0


os.register_at_fork(after_in_child=_after_fork_in_child)
