"""Read-your-writes while runs finish in the background.

``run.complete()`` hands what is left of a run's ingest (the rest of its journal, then
its final status) to the process's ingest thread and returns: the points are already
durable in the journal. Until those finishers are done, the thread that started them
waits for them at its next store call (``wait``, called where every store call starts),
so it reads back all it logged, with the status it asked for, as if ``complete()`` had
waited. Other threads, like other processes, see the run active until its finisher sets
the status, and never a final status before the last point (the status is written after
the drain); they do not wait, so a studio served from this process answers the very
requests a finisher sends it. Closing a store (``wait_all``) and the interpreter's exit
wait for every finisher. The ingest thread, which runs the finishers, starts none, so it
never waits; nor does a call inside a store transaction, which the thread entered after
waiting for its own finishers (so none can hold it up, as none began since).
"""

from __future__ import annotations

import os
import threading

__all__ = ["begin", "end", "wait", "wait_all"]

_cond = threading.Condition()
_pending: dict[int, int] = {}  # thread -> finishers it started that are under way


def begin() -> int:
    """A finisher starts (call before handing it off); returns its owner, for ``end``."""
    owner = threading.get_ident()
    with _cond:
        _pending[owner] = _pending.get(owner, 0) + 1
    return owner


def end(owner: int) -> None:
    """A finisher is done (call from it, whatever happened)."""
    with _cond:
        left = _pending[owner] - 1
        if left:
            _pending[owner] = left
        else:
            del _pending[owner]
        _cond.notify_all()


def wait() -> None:
    """Returns once the finishers this thread started are done."""
    if _pending:
        me = threading.get_ident()
        if me in _pending:
            with _cond:
                _cond.wait_for(lambda: me not in _pending)


def wait_all() -> None:
    """Returns once every finisher of the process is done (not from the ingest thread,
    which runs them)."""
    if _pending:
        with _cond:
            _cond.wait_for(lambda: not _pending)


def _after_fork_in_child() -> None:
    # The parent's finishers are not in the child: it must not wait for them.
    global _cond, _pending
    _cond, _pending = threading.Condition(), {}


os.register_at_fork(after_in_child=_after_fork_in_child)
