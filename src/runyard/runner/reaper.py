"""Finishes runs whose driving process died: what is left of their journal is ingested
and they are marked Failed with the reason (Canceled, if a cancel had been asked for).
A run its own process drove (``start_logging()``, a child) that had asked for its end
(``complete()``, ``fail()``: a record in the journal) ends as it asked: it died while
storing that end, and the journal holds every point.

A run is dead when its owner (``pid@host``) is a process on this host that no longer
runs (or whose pid now belongs to a younger process), or, for an owner on another
host (a container, a workspace on NFS), when its heartbeat is older than the timeout
(``HEARTBEAT_TIMEOUT_S``, or ``$RUNYARD_HEARTBEAT_TIMEOUT_S``). A live local owner is
trusted over an old heartbeat: after a laptop sleeps, every heartbeat is old, and
killing healthy runs then would be worse than waiting; a local owner that is stopped
(SIGSTOP) past the timeout is taken like a remote one.

Taking a run *fences* it: the run's epoch is bumped (in a compare-and-set of its
status) before what is left of its journal is drained, and every write of its runner
(points, journal offsets, status, heartbeat) carries the epoch it claimed, checked in
the write's transaction. A runner that was only paused and comes back is refused
(FencedError) and stops itself: it never stores a point twice or flips the status.
The reaper never kills a process (one on another host it cannot even see).

A run with neither owner nor heartbeat (claimed, its runner not yet started) gets a
heartbeat stamped on first sight, so it is reaped only if it stays that way for the
whole timeout: the claim and the launcher's first heartbeat are two transactions, and
a reaper in another process must not fail a run between them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from runyard.config import HEARTBEAT_TIMEOUT_S, heartbeat_timeout_s
from runyard.entities import ACTIVE_STATUSES, RunInfo, RunKind, RunQuery, RunStatus
from runyard.errors import ConflictError, RunNotFoundError, RunyardError
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.base import Store
from runyard.store.reading import RunsReader
from runyard.workspace.owner import local_pid, process_alive, process_stopped

if TYPE_CHECKING:
    from runyard.tracking.control import StatusRequest

log = logging.getLogger(__name__)
REAP_LOCK = "reap.lock"
_PAGE = 500


def reap_dead_runs(store: Store) -> list[str]:
    """Finds active runs whose process died, ingests the rest of their journals and
    marks them Failed; returns their ids. Safe to call from many processes at once."""
    heartbeat_timeout_s(HEARTBEAT_TIMEOUT_S)  # a bad $RUNYARD_HEARTBEAT_TIMEOUT_S: said now
    now = time.time()
    reaped: list[str] = []
    for run in list(_active_runs(store)):
        if run.kind is RunKind.SWEEP:
            continue  # a dead sweep controller is resumed, not reaped (runyard.sweeps)
        if run.owner is None and run.heartbeat_at is None:
            _start_clock(store, run)
            continue
        reason = death_reason(run, now)
        ended = _finish(store, run, reason) if reason is not None else None
        if ended is not None:
            log.warning("run %s: %s; marked %s", run.run_id, reason, ended.value)
            reaped.append(run.run_id)
    return reaped


def reaping_due(reader: RunsReader, now: float) -> bool:
    """Whether opening the store would change a run: ``reap_dead_runs`` would reap one
    or start one's clock, or ``runyard.sweeps`` might resume a sweep (any active sweep
    counts: whether its controller lives is the sweeps package's to say)."""
    for run in _active_runs(reader):
        if run.kind is RunKind.SWEEP or (run.owner is None and run.heartbeat_at is None):
            return True
        if death_reason(run, now) is not None:
            return True
    return False


def death_reason(run: RunInfo, now: float) -> str | None:
    """Why ``run`` counts as dead, or None while it may be alive."""
    last = run.heartbeat_at or run.started_at or run.created_at
    silent = now - last > heartbeat_timeout_s(HEARTBEAT_TIMEOUT_S)
    pid = local_pid(run.owner)
    who = "runner process" if run.kind is RunKind.SUBMITTED else "process"
    if pid is not None:
        known_alive = run.heartbeat_at or run.created_at
        if not process_alive(pid, not_after=known_alive):
            return f"{who} {pid} died"
        if silent and process_stopped(pid):
            return f"{who} {pid} is stopped (SIGSTOP) with no heartbeat for {now - last:.0f} s"
        return None
    if silent:
        where = f" (owner {run.owner}, not on this host)" if run.owner else ""
        return f"no heartbeat for {now - last:.0f} s{where}"
    return None


def _active_runs(store: RunsReader) -> Iterator[RunInfo]:
    offset = 0
    while True:
        page = store.search_runs(
            RunQuery(statuses=ACTIVE_STATUSES, sort="created_at", limit=_PAGE, offset=offset)
        )
        yield from page.runs
        offset += len(page.runs)
        if not page.runs or offset >= page.total:
            return


def _start_clock(store: Store, run: RunInfo) -> None:
    with contextlib.suppress(RunNotFoundError):  # deleted meanwhile
        store.heartbeat(run.run_id)  # no owner: the launcher's owner is not overwritten


@contextmanager
def _reap_lock(store: Store, run_id: str) -> Iterator[None]:
    """Serialises reapers of one run, so that two never drain one journal at once
    (each would store the same points)."""
    repo = store.artifacts
    if not isinstance(repo, LocalArtifactRepository):
        yield
        return
    run_dir = repo.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / REAP_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _finish(store: Store, run: RunInfo, reason: str) -> RunStatus | None:
    """Ends a dead run: Failed, or Canceled when a cancel was asked for (None: it moved
    on, or another reaper ended it)."""
    with _reap_lock(store, run.run_id):
        try:
            current = store.get_run(run.run_id)
        except RunNotFoundError:
            return None
        if (current.status, current.owner, current.heartbeat_at) != (
            run.status,
            run.owner,
            run.heartbeat_at,
        ):
            return None  # it moved on (or another reaper finished it): look again later
        try:  # fence first: from here on, whatever its runner still writes is refused
            fenced = store.set_status(
                run.run_id, current.status, expected=[current.status], fence=True
            )
        except ConflictError:
            return None
        asked = _drain(store, run, fenced.epoch)
        status = RunStatus.FAILED
        error: str | None = reason
        if current.cancel_requested_at is not None:
            # Asked to stop, and stopped: what the user sees is the cancel they asked for.
            status, error = RunStatus.CANCELED, f"canceled ({reason} before it could stop)"
        elif asked is not None and run.kind in (RunKind.INTERACTIVE, RunKind.CHILD):
            # Its process asked for this end (complete(), fail()) and died while storing
            # it: the journal is in now, so the end asked for is the true one. (A runner's
            # script is different: a crash after complete() still fails the run.)
            status, error = asked.status, asked.error
        try:
            store.set_status(
                run.run_id, status, error=error, expected=[current.status], epoch=fenced.epoch
            )
        except ConflictError:
            return None
    return status


def _drain(store: Store, run: RunInfo, epoch: int) -> StatusRequest | None:
    """Ingests what is left of the run's journals; returns the last end they ask for
    (None where none, or where they could not all be read)."""
    repo = store.artifacts
    if not isinstance(repo, LocalArtifactRepository):
        return None  # the journal is on the machine that ran the script
    from runyard.tracking.ingest import RunJournalsIngester

    journal: Path = repo.journal_path(run.run_id)
    ingester = RunJournalsIngester(store, run.run_id, journal, epoch)
    try:
        ingester.drain()
    except (OSError, RunyardError) as exc:
        # The run is dead either way; failing to reap it would hold its slot forever.
        log.warning("run %s: ingesting what is left of %s failed: %s", run.run_id, journal, exc)
        return None
    return ingester.status_request
