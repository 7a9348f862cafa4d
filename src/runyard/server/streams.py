"""Live updates of one run as server-sent events.

The client says what it has (``since``: points per metric key, ``log_offset``: bytes of
the driver log); the server polls about four times a second, cheaply: the run's change
counter (``Store.get_change_seqs``, read for every open stream of the store in one
query, ``ChangeWatcher``) and one file stat. Only when the counter moved does it read
the run, its summaries and the new points, and it sends only what is new:

- ``status``: the run (JSON as ``GET /api/runs/{id}``) whenever its status changes;
- ``metrics``: ``{"key", "start", "steps", "timestamps", "values", "value_type",
  "total_count", "reset"}``, the points from index ``start`` on; ``reset`` is true when
  the client fell too far behind and gets a down-sampled whole series instead;
- ``log``: ``{"offset", "next_offset", "data"}``, new driver log text;
- ``records``: ``{"count"}`` when the run's record count (lists, rows, tables, images)
  differs from the client's ``records`` (asked for with ``records=N``, N >= 0);
- ``end``: the run is terminal and everything was sent; the stream closes.

``/api/experiments/{id}/stream`` does the same for an open runs table: ``changed``
when a shown row's counter moved or a run was added.
"""

from __future__ import annotations

import json
import math
import threading
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from runyard.entities import RunQuery, RunStatus
from runyard.errors import ArtifactNotFoundError, ValidationError
from runyard.server.api_files import utf8_prefix
from runyard.server.deps import StoreDep, file_size
from runyard.store.artifacts import DRIVER_LOG
from runyard.store.base import Store
from runyard.wire import parse_status, run_json, series_json

router = APIRouter(prefix="/api")

POLL_INTERVAL_S = 0.25
# An open runs table: two small reads per tick.
EXPERIMENT_POLL_S = 0.5
KEEPALIVE_S = 15.0
# A client further behind than this gets a down-sampled series, not every point.
MAX_LIVE_POINTS = 20_000
RESET_MAX_POINTS = 2_000
LOG_CHUNK = 1024 * 1024
# Streams ticking within this long of a change-counter read share it.
SHARED_READ_S = POLL_INTERVAL_S * 0.8


class ChangeWatcher:
    """The change counters of every run with an open stream on one store, read in one
    query at most every ``SHARED_READ_S`` and shared by all those streams: fifty open
    run pages cost about four small reads a second, not two hundred. Thread-safe (the
    streams poll from the thread pool)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}  # run id -> open streams
        self._seqs: dict[str, int] = {}
        self._read_at = -math.inf

    def open(self, run_id: str) -> None:
        with self._lock:
            self._open[run_id] = self._open.get(run_id, 0) + 1

    def close(self, run_id: str) -> None:
        with self._lock:
            left = self._open.get(run_id, 0) - 1
            if left > 0:
                self._open[run_id] = left
            else:
                self._open.pop(run_id, None)

    def current(self, run_id: str, *, fresh: bool = False) -> int | None:
        """The run's change counter as of at most ``SHARED_READ_S`` ago (``fresh``: now);
        None if the run is gone."""
        with self._lock:
            stale = time.monotonic() - self._read_at >= SHARED_READ_S
            if fresh or stale or run_id not in self._seqs:
                self._seqs = self._store.get_change_seqs(sorted({*self._open, run_id}))
                self._read_at = time.monotonic()
            return self._seqs.get(run_id)


_watchers: weakref.WeakKeyDictionary[Store, ChangeWatcher] = weakref.WeakKeyDictionary()
_watchers_lock = threading.Lock()


def watcher_for(store: Store) -> ChangeWatcher:
    with _watchers_lock:
        watcher = _watchers.get(store)
        if watcher is None:
            watcher = _watchers[store] = ChangeWatcher(store)
        return watcher


@dataclass
class StreamState:
    """What the client has; updated as events are produced."""

    counts: dict[str, int]
    log_offset: int  # -1: the client does not want the log
    status: RunStatus | None = None
    events: list[tuple[str, Any]] = field(default_factory=list)
    # The run's change counter when it was last read (None: not read yet).
    change_seq: int | None = None
    terminal: bool = False
    records: int = -1  # records the client holds; -1: it does not want them


def parse_since(text: str) -> dict[str, int]:
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        raise ValidationError("'since' must be a JSON object of metric key → count") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in data.items()
    ):
        raise ValidationError("'since' must be a JSON object of metric key → count (>= 0)")
    return data


def poll_once(
    store: Store, run_id: str, state: StreamState, *, fresh: bool = False
) -> tuple[bool, bool]:
    """Adds new events to ``state``; returns (run is terminal, everything was sent).
    ``fresh``: read the change counter now rather than share a read of the last tick."""
    seq = watcher_for(store).current(run_id, fresh=fresh)
    if seq is None:
        store.get_run(run_id)  # gone: RunNotFoundError, as a read of it says
    if seq is None or seq != state.change_seq:
        # Read before the run: a write committed during the reads below moves the
        # counter again, and the next tick reads it.
        state.change_seq = seq
        _poll_store(store, run_id, state)
    drained = True
    if state.log_offset >= 0:
        drained = _poll_log(store, run_id, state)
    return state.terminal, drained


def _poll_store(store: Store, run_id: str, state: StreamState) -> None:
    # The run first: if it is terminal now, the summaries read after it hold every
    # point ingested before it ended.
    run = store.get_run(run_id)
    state.terminal = run.status.is_terminal()
    if run.status != state.status:
        state.status = run.status
        state.events.append(("status", run_json(run)))
    if state.records >= 0:
        # Read only when the counter moved; the page then reads the records again.
        count = len(store.get_metric_records(run_id))
        if count != state.records:
            state.records = count
            state.events.append(("records", {"count": count}))
    for key, summary in store.get_metric_summaries(run_id).items():
        have = state.counts.get(key, 0)
        if summary.count <= have:
            continue
        if summary.count - have > MAX_LIVE_POINTS:
            series = store.get_metric_series(run_id, key, max_points=RESET_MAX_POINTS)
            payload = series_json(series, summary.value_type, 0)
            state.counts[key] = series.total_count
            state.events.append(("metrics", {**payload, "reset": True}))
        else:
            series = store.get_metric_series(run_id, key, start=have)
            if not series.steps:
                continue
            payload = series_json(series, summary.value_type, have)
            state.counts[key] = have + len(series.steps)
            state.events.append(("metrics", {**payload, "reset": False}))


def _poll_log(store: Store, run_id: str, state: StreamState) -> bool:
    """New driver log text (a file, not the store); whether all of it was sent."""
    size = file_size(store, run_id, DRIVER_LOG)
    if size is None or size <= state.log_offset:
        return True
    try:
        data = store.artifacts.read_bytes(run_id, DRIVER_LOG, state.log_offset, LOG_CHUNK)
    except ArtifactNotFoundError:
        data = b""
    text, used = utf8_prefix(data)
    if used:
        start = state.log_offset
        state.log_offset += used
        state.events.append(
            ("log", {"offset": start, "next_offset": state.log_offset, "data": text})
        )
    return state.log_offset >= size or not used


def sse(event: str, data: Any) -> str:
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return f"event: {event}\ndata: {body}\n\n"


@router.get("/runs/{run_id}/stream")
async def stream_run(
    store: StoreDep,
    run_id: str,
    since: Annotated[str, Query(description='JSON: {"loss": 120, ...} points held')] = "{}",
    log_offset: Annotated[int, Query(ge=-1, description="driver log bytes held; -1: none")] = -1,
    status: Annotated[str, Query(description="the run status the client shows")] = "",
    records: Annotated[int, Query(ge=-1, description="records held; -1: none wanted")] = -1,
) -> StreamingResponse:
    """Server-sent events with a run's new points, log text, records and status changes."""
    state = StreamState(counts=parse_since(since), log_offset=log_offset, records=records)
    if status:
        state.status = parse_status(status)
    await run_in_threadpool(store.get_run, run_id)  # a 404 before the stream starts

    async def events() -> AsyncIterator[str]:
        watcher = watcher_for(store)
        watcher.open(run_id)
        try:
            async for event in _events(store, run_id, state):
                yield event
        finally:
            watcher.close(run_id)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _events(store: Store, run_id: str, state: StreamState) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    last_sent = time.monotonic()
    final_pass = False
    while True:
        terminal, drained = await run_in_threadpool(
            poll_once, store, run_id, state, fresh=final_pass
        )
        for name, data in state.events:
            yield sse(name, data)
            last_sent = time.monotonic()
        state.events.clear()
        if terminal and drained:
            if final_pass:
                yield sse("end", {"status": str(state.status)})
                return
            # One more pass: a batch committed with the final status is read now.
            final_pass = True
            continue
        if time.monotonic() - last_sent > KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        await anyio.sleep(POLL_INTERVAL_S)


@dataclass
class ExperimentState:
    """What an open runs table shows: its rows' change counters and the experiment's
    newest run number and run count."""

    seqs: dict[str, int]
    newest: int
    total: int


def poll_experiment(store: Store, experiment_id: str, state: ExperimentState) -> dict[str, Any]:
    """What moved since ``state`` (and updates it): ``{"runs": [changed ids], "newest",
    "total"}``, or {} when nothing did. Two small reads: the rows' counters and the
    newest run (with the count)."""
    seqs = store.get_change_seqs(sorted(state.seqs)) if state.seqs else {}
    changed = sorted(r for r, seq in state.seqs.items() if seqs.get(r, -1) != seq)
    newest = store.search_runs(RunQuery(experiment_id=experiment_id, sort="number", limit=1))
    number = newest.runs[0].number if newest.runs else 0
    if not changed and number == state.newest and newest.total == state.total:
        return {}
    state.seqs.update({r: seqs.get(r, -1) for r in changed})
    state.newest, state.total = number, newest.total
    return {"runs": changed, "newest": number, "total": newest.total}


@router.get("/experiments/{experiment_id}/stream")
async def stream_experiment(
    store: StoreDep,
    experiment_id: str,
    runs: Annotated[str, Query(description="RUN_ID:CHANGE_SEQ,... the rows shown")] = "",
    newest: Annotated[int, Query(ge=0, description="the newest run number known")] = 0,
    total: Annotated[int, Query(ge=0, description="the run count known")] = 0,
) -> StreamingResponse:
    """Server-sent ``changed`` events for an open runs table: a row's run changed
    (status, points, tags) or a run was added; the table then reads itself again."""
    seqs: dict[str, int] = {}
    for item in runs.split(","):
        run_id, sep, seq = item.strip().rpartition(":")
        if not item.strip():
            continue
        if not sep or not run_id or not seq.lstrip("-").isdigit():
            raise ValidationError(f"'runs' item {item!r} must look like RUN_ID:CHANGE_SEQ")
        seqs[run_id] = int(seq)
    await run_in_threadpool(store.get_experiment, experiment_id)  # a 404 first
    state = ExperimentState(seqs=seqs, newest=newest, total=total)

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        last_sent = time.monotonic()
        while True:
            change = await run_in_threadpool(poll_experiment, store, experiment_id, state)
            if change:
                yield sse("changed", change)
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            await anyio.sleep(EXPERIMENT_POLL_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
