"""Live run updates over server-sent events, against a real server and store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event

from runyard.entities import MetricColumns, RunInfo, RunKind, RunStatus
from runyard.server import create_app
from runyard.store.artifacts import DRIVER_LOG
from runyard.store.base import Store
from tests.support.server import RunningServer, open_test_store, start_server


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("stream"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(store, token="t"))
    yield srv
    srv.stop()


def new_run(store: Store) -> RunInfo:
    exp = store.get_or_create_experiment("exp-stream")
    return store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)


def log(store: Store, run_id: str, key: str, start: int, n: int) -> None:
    steps = list(range(start, start + n))
    store.append_metrics(
        run_id, [MetricColumns(key, "float", steps, [time.time()] * n, [float(s) for s in steps])]
    )


class EventReader:
    """Reads server-sent events; every wait is bounded by the client's read timeout."""

    def __init__(self, resp: httpx.Response) -> None:
        self.lines = resp.iter_lines()

    def next(self) -> tuple[str, Any]:
        name, data = "message", ""
        for line in self.lines:
            if line.startswith(":") or line.startswith("retry:"):
                continue
            if not line:
                if data:
                    return name, json.loads(data)
                continue
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                data += value.strip()
        raise EOFError("the stream ended")

    def until(self, wanted: str) -> Any:
        while True:
            name, data = self.next()
            if name == wanted:
                return data


def stream(server: RunningServer, run_id: str, **params: Any) -> Any:
    return httpx.stream(
        "GET",
        f"{server.url}/api/runs/{run_id}/stream",
        params=params,
        timeout=httpx.Timeout(10.0, read=5.0),
    )


def test_stream_sends_new_points_log_text_and_status_then_ends(
    store: Store, server: RunningServer
) -> None:
    run = new_run(store)
    log(store, run.run_id, "loss", 0, 3)
    store.artifacts.append_bytes(run.run_id, DRIVER_LOG, "héllo\n".encode())
    with stream(server, run.run_id, since="{}", log_offset=0) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = EventReader(resp)
        name, first = events.next()
        assert (name, first["run_id"], first["status"]) == ("status", run.run_id, "Running")
        seen: dict[str, Any] = {}
        while len(seen) < 2:
            name, data = events.next()
            seen[name] = data
        assert seen["metrics"]["key"] == "loss"
        assert seen["metrics"]["steps"] == [0, 1, 2] and seen["metrics"]["start"] == 0
        assert seen["log"] == {"offset": 0, "next_offset": 7, "data": "héllo\n"}

        log(store, run.run_id, "loss", 3, 2)
        more = events.until("metrics")
        assert (more["start"], more["steps"], more["reset"]) == (3, [3, 4], False)
        store.artifacts.append_bytes(run.run_id, DRIVER_LOG, b"world\n")
        assert events.until("log")["data"] == "world\n"

        store.set_status(run.run_id, RunStatus.COMPLETED)
        assert events.until("status")["status"] == "Completed"
        assert events.until("end") == {"status": "Completed"}
        with pytest.raises(EOFError):
            events.next()


def test_stream_of_a_finished_run_sends_only_what_the_client_lacks(
    store: Store, server: RunningServer
) -> None:
    run = new_run(store)
    log(store, run.run_id, "acc", 0, 5)
    store.set_status(run.run_id, RunStatus.FAILED, error="boom")
    with stream(server, run.run_id, since=json.dumps({"acc": 3}), status="Failed") as resp:
        events = EventReader(resp)
        name, data = events.next()
        assert name == "metrics" and data["start"] == 3 and data["steps"] == [3, 4]
        assert events.next() == ("end", {"status": "Failed"})


def test_a_client_far_behind_gets_a_down_sampled_series(
    store: Store, server: RunningServer
) -> None:
    run = new_run(store)
    log(store, run.run_id, "big", 0, 25_000)
    store.set_status(run.run_id, RunStatus.COMPLETED)
    with stream(server, run.run_id) as resp:
        data = EventReader(resp).until("metrics")
    assert data["reset"] is True and data["total_count"] == 25_000
    assert len(data["steps"]) <= 2_000 and data["steps"][-1] == 24_999


def test_stream_errors_come_before_the_stream(store: Store, server: RunningServer) -> None:
    resp = httpx.get(f"{server.url}/api/runs/nope/stream")
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "RunNotFoundError"
    run = new_run(store)
    resp = httpx.get(f"{server.url}/api/runs/{run.run_id}/stream", params={"since": "[1]"})
    assert resp.status_code == 400


def test_a_quiet_run_costs_one_change_counter_read_a_tick(
    store: Store, server: RunningServer
) -> None:
    run = new_run(store)
    log(store, run.run_id, "loss", 0, 3)
    engine = store._engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if run.run_id in str(args[0] if args else ""):  # this run's reads only
            statements.append(" ".join(statement.split()).lower())

    with stream(server, run.run_id, since="{}") as resp:
        events = EventReader(resp)
        assert events.until("metrics")["steps"] == [0, 1, 2]
        sa_event.listen(engine, "before_cursor_execute", listen)
        try:
            # Nothing changes: wait for several ticks' reads, then look at them.
            deadline = time.monotonic() + 10
            while len(statements) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            quiet = list(statements)
            log(store, run.run_id, "loss", 3, 1)  # a change: read and sent at once
            assert events.until("metrics")["steps"] == [3]
        finally:
            sa_event.remove(engine, "before_cursor_execute", listen)
    assert len(quiet) >= 6
    assert all("change_seq" in s and "metric" not in s for s in quiet), quiet
