"""The reaper: runs whose process died are drained and marked Failed, live ones are not."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from runyard.entities import RunInfo, RunKind, RunStatus
from runyard.runner import reaper
from runyard.runner.local import open_workspace_store
from runyard.runner.reaper import death_reason, reap_dead_runs
from runyard.targets.local import reap_and_refill
from runyard.tracking.journal import JournalWriter
from runyard.workspace.owner import local_pid
from tests.test_runner_support import Workspace, make_workspace, pid_gone, wait_for

HOST = socket.gethostname()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with make_workspace(tmp_path, slots=4) as workspace:
        yield workspace


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def interactive(ws: Workspace, owner: str | None) -> RunInfo:
    experiment = ws.store.get_or_create_experiment("reaper")
    return ws.store.create_run(
        experiment.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING, owner=owner
    )


def claimed(ws: Workspace, owner: str | None) -> RunInfo:
    run = ws.create("print(1)\n")
    assert ws.store.claim_next_queued("cpu", 4) is not None
    if owner is not None:
        ws.store.heartbeat(run.run_id, owner=owner)
    return ws.store.get_run(run.run_id)


def test_runs_whose_local_owner_died_are_failed(ws: Workspace) -> None:
    pid = dead_pid()
    submitted = claimed(ws, f"{pid}@{HOST}")
    notebook = interactive(ws, f"{pid}@{HOST}")
    alive = interactive(ws, f"{os.getpid()}@{HOST}")
    assert sorted(reap_dead_runs(ws.store)) == sorted([submitted.run_id, notebook.run_id])
    failed = ws.store.get_run(submitted.run_id)
    assert (failed.status, failed.error) == (RunStatus.FAILED, f"runner process {pid} died")
    assert ws.store.get_run(notebook.run_id).error == f"process {pid} died"
    assert ws.store.get_run(alive.run_id).status is RunStatus.RUNNING
    assert reap_dead_runs(ws.store) == []


def test_a_dead_run_that_was_asked_to_cancel_is_canceled(
    ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    pid = dead_pid()
    run = claimed(ws, f"{pid}@{HOST}")
    assert ws.store.request_cancel(run.run_id).cancel_requested_at is not None
    with caplog.at_level(logging.WARNING, logger="runyard"):
        assert reap_dead_runs(ws.store) == [run.run_id]
    done = ws.store.get_run(run.run_id)
    assert done.status is RunStatus.CANCELED
    assert done.error == f"canceled (runner process {pid} died before it could stop)"
    # The warning says what the run became (it said "marked Failed" for a canceled run).
    assert f"runner process {pid} died; marked Canceled" in caplog.text


def test_reaping_a_dead_runner_starts_the_next_queued_run(tmp_path: Path) -> None:
    with make_workspace(tmp_path, slots=1) as ws:
        first = ws.submit("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
        second = ws.create("print('second')\n")
        ws.wait_log(first.run_id, "up")
        runner = local_pid(ws.wait_status(first.run_id, RunStatus.RUNNING).owner)
        assert runner is not None
        os.kill(runner, 9)
        wait_for(lambda: pid_gone(runner), 10, "the runner to die")
        # Nobody submits again: the reaper frees the slot and fills it.
        assert reap_and_refill(ws.store, ws.config_path) == [first.run_id]
        assert ws.wait(second.run_id).status is RunStatus.COMPLETED
        assert ws.log(second.run_id) == "second\n"


def test_the_rest_of_a_dead_runs_journal_is_ingested(ws: Workspace) -> None:
    run = interactive(ws, f"{dead_pid()}@{HOST}")
    writer = JournalWriter(ws.artifacts.journal_path(run.run_id))
    for i in range(1000):
        writer.log("acc", i / 1000)
    writer.close()
    assert reap_dead_runs(ws.store) == [run.run_id]
    assert ws.store.get_metric_summaries(run.run_id)["acc"].count == 1000


def test_concurrent_reapers_store_each_point_once(ws: Workspace) -> None:
    run = interactive(ws, f"{dead_pid()}@{HOST}")
    writer = JournalWriter(ws.artifacts.journal_path(run.run_id))
    for i in range(100_000):
        writer.log("x", i)
    writer.close()
    results: list[list[str]] = []
    stores = [open_workspace_store(ws.config_path)[1] for _ in range(3)]

    def reap(index: int) -> None:
        results.append(reap_dead_runs(stores[index]))

    threads = [threading.Thread(target=reap, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(results) == [[], [], [run.run_id]]
    assert ws.store.get_metric_series(run.run_id, "x").total_count == 100_000


def test_remote_owners_are_judged_by_their_heartbeat(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = claimed(ws, "4242@another-machine")
    assert reap_dead_runs(ws.store) == []
    monkeypatch.setattr(reaper, "HEARTBEAT_TIMEOUT_S", 0.2)
    time.sleep(0.3)  # age the heartbeat past the (shortened) timeout
    assert reap_dead_runs(ws.store) == [run.run_id]
    error = ws.store.get_run(run.run_id).error
    assert error is not None and error.startswith("no heartbeat for ")


def test_a_claimed_run_without_owner_gets_the_whole_timeout(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = claimed(ws, owner=None)
    assert run.heartbeat_at is None
    monkeypatch.setattr(reaper, "HEARTBEAT_TIMEOUT_S", 0.2)
    time.sleep(0.3)  # it was created (queued) longer ago than the timeout
    assert reap_dead_runs(ws.store) == []  # first sight: the clock starts now
    assert ws.store.get_run(run.run_id).heartbeat_at is not None
    time.sleep(0.3)
    assert reap_dead_runs(ws.store) == [run.run_id]


def test_death_reason() -> None:
    now = time.time()
    me = psutil.Process()
    base = RunInfo(
        run_id="r",
        experiment_id="e",
        number=1,
        kind=RunKind.SUBMITTED,
        status=RunStatus.RUNNING,
        created_at=now,
        heartbeat_at=now,
        owner=f"{os.getpid()}@{HOST}",
    )
    assert death_reason(base, now) is None
    # A live local owner is trusted over an old heartbeat (a laptop that slept).
    assert death_reason(base, now + 3600) is None
    # The pid belongs to a process younger than the run's last heartbeat: reused.
    reused = replace(base, heartbeat_at=me.create_time() - 100)
    assert death_reason(reused, now) == f"runner process {os.getpid()} died"
    remote = replace(base, owner="1@elsewhere")
    assert death_reason(remote, now + 10) is None
    assert death_reason(remote, now + 100) == (
        "no heartbeat for 100 s (owner 1@elsewhere, not on this host)"
    )
