"""Moves journal records into the store, in batches.

The store records how far each run's journal has been ingested in the same
transaction as the points, so an ingester can stop at any moment (or be SIGKILLed) and
the next one resumes exactly where it left off: nothing twice, nothing lost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from runyard.entities import ACTIVE_STATUSES, MetricColumns, MetricRecord, RunStatus
from runyard.errors import ConflictError, RunNotFoundError
from runyard.store.base import Store
from runyard.tracking.control import StatusRequest, apply_control, child_journals, status_request
from runyard.tracking.journal import HEADER_SIZE
from runyard.tracking.journal_reader import DecodeState, iter_records
from runyard.tracking.journals import process_journals, rank_prefix
from runyard.tracking.worker import Worker

log = logging.getLogger(__name__)
_Keyed = TypeVar("_Keyed", MetricColumns, MetricRecord)

DAMAGE_TAG = "runyard.journal.damage"
_MIN_READ = 64 << 10
# Bounded so that draining a journal of millions of points stays within a runner's
# memory budget; the batch is still large enough to amortise each transaction.
_MAX_READ = 8 << 20
_BATCH_RECORDS = 200_000
# The final ingest looks for damage (bytes after the last whole record) in the rest of its
# last read when that rest reaches the file's end or is at least this long.
_DAMAGE_WINDOW = 1 << 20


class JournalIngester:
    """Ingests one run's journal. Not thread-safe: one ingester per run at a time."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        journal_path: Path | str,
        journal: str = "",
        epoch: int | None = None,
        *,
        fresh: bool = False,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.epoch = epoch  # the runner's fencing epoch: a reaped runner stores nothing
        self.path = Path(journal_path)
        self.journal = journal  # which offset: "" the main journal's, else the file name
        self.prefix = rank_prefix(journal)  # a rank's metrics: "rank<r>/<name>"
        self.damage: str | None = None
        self.status: StatusRequest | None = None  # the script's run.fail() and the like
        # A journal of a run this process just created (``fresh``) starts at 0 with
        # nothing stored: no need to ask the store. After a failed append the state is
        # dropped, and the next pass resumes from the store's offset.
        self._state: DecodeState | None = DecodeState() if fresh else None
        self._read_size = _MIN_READ

    def _load_state(self) -> DecodeState:
        """Resumes from the store's offset; the name table is rebuilt from the start."""
        state = DecodeState()
        offset = self.store.get_journal_offset(self.run_id, self.journal)
        if offset:
            with open(self.path, "rb") as f:
                head = f.read(offset)
            for _ in iter_records(head, 0, state):
                pass
            state.offset = offset
        self._state = state
        return state

    @property
    def offset(self) -> int:
        """How far into the journal this ingester has read (0 before its first pass)."""
        return self._state.offset if self._state is not None else 0

    def ingest_once(self) -> int:
        """Ingests what the journal holds now (in batches); returns how many records."""
        return self._ingest(final=False)

    def drain(self) -> int:
        """Ingests everything, once the writer is done. Damage (a torn or corrupted
        record) stops ingest at the last whole record; it is logged and tagged on the
        run (``runyard.journal.damage``), never fatal."""
        return self._ingest(final=True)

    def _ingest(self, *, final: bool) -> int:
        # Imported at the first pass, not with this module: decoding needs numpy (about
        # 100 ms to import here), and start_logging() need not wait for that: the first
        # pass runs on the ingest worker, unless a flush() or the end comes sooner.
        from runyard.tracking.decode import decode

        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return 0
        try:
            state = self._state or self._load_state()
            total = 0
            tail: memoryview | None = None  # what followed the records in the last read
            if final:
                # The writer is done: read what is left in as few batches as possible
                # (a live tail starts small and grows with the journal's pace).
                self._read_size = _MAX_READ
            while True:
                # Never more than the file holds: a read buffer is fresh memory, and
                # faulting in 8 MiB for a 2 MiB journal cost a final drain 10 ms.
                size = os.fstat(fd).st_size
                want = max(min(self._read_size, size - state.offset), 0)
                data = os.pread(fd, want, state.offset)
                if not data:
                    break
                at_end = state.offset + len(data) >= size
                start = state.offset
                batch = decode(data, start, state, _BATCH_RECORDS)
                if batch.count:
                    try:
                        if batch.control:
                            if self.epoch is not None:
                                # A reaped runner's tags, properties, files and children
                                # must not land either: its epoch is checked first (the
                                # append below checks it again in its own transaction).
                                self.store.heartbeat(self.run_id, epoch=self.epoch)
                            self._report(apply_control(self.store, self.run_id, batch.control))
                            asked = status_request(batch.control)
                            if asked is not None and not (self.status and self.status.final):
                                self.status = asked  # a logging failure stays
                        columns, records = batch.columns(state.names), batch.records
                        if self.prefix:
                            columns = [_prefixed(c, self.prefix) for c in columns]
                            records = [_prefixed(r, self.prefix) for r in records]
                        self.store.append_metrics(
                            self.run_id,
                            columns,
                            records,
                            journal_offset=state.offset,
                            journal=self.journal,
                            epoch=self.epoch,
                        )
                    except BaseException:
                        # The decoder has moved past this batch but the store does not
                        # have it: start again from the store's offset next time.
                        self._state = None
                        raise
                    total += batch.count
                consumed = state.offset - start
                if (
                    state.stopped is None
                    and batch.count < _BATCH_RECORDS
                    and len(data) - consumed >= HEADER_SIZE
                ):
                    # The decoder met the end marker inside this read: nothing more is
                    # written yet, so no further read (of the zeroed tail) is needed.
                    rest = memoryview(data)[consumed:]
                    if final and (at_end or len(rest) >= _DAMAGE_WINDOW):
                        tail = rest  # to the file's end, or far enough: the damage check's
                    break
                if consumed == 0:
                    if state.stopped == "incomplete" and not at_end and self._read_size < _MAX_READ:
                        self._read_size *= 2  # a record larger than what we read
                        continue
                    break
                if consumed >= len(data) // 2:
                    # Most of the read was records: the journal is busy, read bigger.
                    self._read_size = min(self._read_size * 2, _MAX_READ)
                if state.stopped not in (None, "incomplete"):
                    break
            if final:
                self._check_end(fd, state, tail)
            return total
        finally:
            os.close(fd)

    def _report(self, problems: list[str]) -> None:
        for problem in problems:
            log.warning("run %s: %s", self.run_id, problem)

    def _check_end(self, fd: int, state: DecodeState, tail: bytes | memoryview | None) -> None:
        # A torn record shows as bytes after the end: the last read's rest when it went
        # to the file's end or far enough past the last record, else a read from there.
        if tail is None:
            rest = max(min(_MAX_READ, os.fstat(fd).st_size - state.offset), 0)
            tail = os.pread(fd, rest, state.offset)
        from runyard.tracking.decode import has_data_after

        damaged = state.stopped not in (None,) or has_data_after(tail, 0)
        if not damaged or self.damage:
            return
        reason = state.stopped if state.stopped not in (None, "incomplete") else "torn record"
        size = os.fstat(fd).st_size
        self.damage = (
            f"journal {self.path} is damaged after byte {state.offset} ({reason}); "
            f"every whole record before it was ingested, up to {size - state.offset} "
            "bytes after it were not"
        )
        log.warning("%s", self.damage)
        self.store.set_tags(self.run_id, {DAMAGE_TAG: self.damage[:4000]})


def _prefixed(item: _Keyed, prefix: str) -> _Keyed:
    return dataclasses.replace(item, key=prefix + item.key)


class RunJournalsIngester:
    """Ingests all of a run's journals: the main one and each other process's
    (``tracking.journals``), found afresh on every pass, then its child runs' journals
    (``tracking.control.child_journals``), each into its child. Same calls as one
    ingester."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        journal_path: Path | str,
        epoch: int | None = None,
        *,
        fresh: bool = False,
    ) -> None:
        """``fresh``: the run was just created by this process, so its main journal's
        stored offset is 0 and need not be asked for."""
        self.store = store
        self.run_id = run_id
        self.path = Path(journal_path)
        self.epoch = epoch
        main = JournalIngester(store, run_id, self.path, epoch=epoch, fresh=fresh)
        self._ingesters = {self.path: main}
        self._children: dict[str, RunJournalsIngester] = {}
        self._ended = False  # a child: its status is set
        self._beat = 0.0

    @property
    def offset(self) -> int:
        """How far into the main journal ingest has read."""
        return self._ingesters[self.path].offset

    @property
    def damage(self) -> str | None:
        return next((i.damage for i in self._ingesters.values() if i.damage), None)

    @property
    def status_request(self) -> StatusRequest | None:
        """The latest status the script asked for, in any of its processes."""
        found = [i.status for i in self._ingesters.values() if i.status is not None]
        return max(found, key=lambda r: (r.final, r.timestamp), default=None)

    def _all(self) -> list[JournalIngester]:
        for path in process_journals(self.path):
            if path not in self._ingesters:
                self._ingesters[path] = JournalIngester(
                    self.store, self.run_id, path, path.name, self.epoch
                )
        return list(self._ingesters.values())

    def ingest_once(self) -> int:
        return sum(i.ingest_once() for i in self._all()) + self._each_child(final=False)

    def drain(self) -> int:
        return sum(i.drain() for i in self._all()) + self._each_child(final=True)

    def _each_child(self, *, final: bool) -> int:
        total = 0
        for child_id, path in child_journals(self.path):
            child = self._children.setdefault(
                child_id, RunJournalsIngester(self.store, child_id, path)
            )
            try:
                total += child.drain() if final else child.ingest_once()
            except RunNotFoundError:
                continue  # its creation is in a part of our journal not yet read
            child._settle()
        return total

    def _settle(self) -> None:
        """A child run: ends it as its script asked, else keeps its heartbeat fresh."""
        if self._ended:
            return
        request = self.status_request
        if request is None:
            if time.monotonic() - self._beat >= 2.0:
                self._beat = time.monotonic()
                self.store.heartbeat(self.run_id)
            return
        self.end(request.status, request.error)

    def end(self, status: RunStatus, error: str | None) -> None:
        """Sets this (child) run's final status unless it has one."""
        self._ended = True
        with contextlib.suppress(ConflictError):  # finished already (the reaper)
            self.store.set_status(self.run_id, status, error=error, expected=list(ACTIVE_STATUSES))

    def end_children(self, status: RunStatus, error: str | None) -> list[str]:
        """Ends the child runs still open when their parent ended (with its status);
        returns their ids."""
        ended = []
        for child_id, child in self._children.items():
            if not child._ended:
                child.end(status, error)
                ended.append(child_id)
        return ended


class IngestThread:
    """Runs an ingester in the background (for interactive runs: the process that
    logs is also the one that ingests) until ``stop``, which drains what is left.

    Every run of a process shares one worker thread (``tracking.worker``): starting a thread
    per run cost each ``start_logging()`` about 0.6 ms, waiting for it to come up."""

    def __init__(
        self,
        ingester: JournalIngester | RunJournalsIngester,
        on_tick: Callable[[], None] | None = None,
        tick_every: float = 2.0,
    ) -> None:
        self.ingester = ingester
        self._on_tick = on_tick
        self._tick_every = tick_every
        self._last_tick = 0.0
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> IngestThread:
        Worker.shared().add(self)
        return self

    def run_pass(self) -> None:
        """One pass of the worker: ingest, and tick when one is due."""
        try:
            with self._lock:
                if self._stopped:  # stopped while the worker was on its way here
                    return
                self.ingester.ingest_once()
                due = time.monotonic() - self._last_tick >= self._tick_every
                if self._on_tick is not None and due:
                    self._last_tick = time.monotonic()
                    self._on_tick()  # e.g. a heartbeat: this process is alive
        except Exception:  # keep logging alive; the drain at stop retries
            log.exception("ingesting run %s failed; will retry", self.ingester.run_id)

    def flush(self) -> int:
        """Ingests what is in the journal now (from any thread)."""
        with self._lock:
            return self.ingester.ingest_once()

    def stop(self) -> int:
        Worker.shared().discard(self)
        with self._lock:  # waits for a pass of the worker under way
            self._stopped = True
            return self.ingester.drain()
