"""Ending a run this process drove: in place when little is left to ingest, else on the
process's ingest thread, so that ``run.complete()`` returns at once.

Durability does not wait for the finisher: every point is in the run's journal when
``log`` returns. The finisher drains the rest of the journal, then sets the final
status (never the other way round, so no reader sees a final status with points still
missing). Meanwhile the thread that ended the run waits for it at its next store call
(``store.settle``), and other threads and processes see the run still active. An
interpreter that exits right after ``complete()`` waits for its finishers (``atexit``).
If finishing fails (the store unreachable), the error is logged and the end is tried
again at exit; after a crash (SIGKILL before the finisher is done) the reaper drains the
journal and ends the run as the journal's status record asks (``runner.reaper``).
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable

from runyard.entities import RunInfo
from runyard.store import settle

log = logging.getLogger(__name__)

# Journal bytes not yet ingested from which a finisher thread pays off: below it, the
# drain costs about what the hand-off saves (~1,600 records, under a millisecond).
BACKGROUND_FROM = 64 * 1024


def finish(
    end: Callable[[], RunInfo | None], run_id: str, backlog: int, *, wait: bool
) -> RunInfo | None:
    """``end()`` now (its result), or on the ingest thread (None). ``end`` itself makes
    sure a failed end is tried again (``IngestSink._end``)."""
    if wait or backlog < BACKGROUND_FROM:
        return end()
    from runyard.tracking.worker import in_background

    owner = settle.begin()
    try:
        in_background(lambda: _finisher(end, run_id, owner))
    except BaseException:
        settle.end(owner)
        raise
    return None


# Registered on first import, after the sinks' own exit hook, so it runs before that one
# (atexit is last in, first out): the finishers are done, then runs still open end.
atexit.register(settle.wait_all)


def _finisher(end: Callable[[], RunInfo | None], run_id: str, owner: int) -> None:
    try:
        end()
    except Exception:
        log.exception("run %s: finishing it failed; trying again when this process exits", run_id)
    finally:
        settle.end(owner)
