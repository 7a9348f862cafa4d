"""Fencing: a reaped runner that comes back writes nothing (issue 13 item 4).

A runner that stops beating (SIGSTOP, a paused container, a workspace on NFS seen from
another host) is taken by the reaper after the heartbeat timeout: the run's epoch is
bumped, the rest of its journal drained and the run marked Failed. When the runner
resumes, each of its writes carries the epoch it claimed and is refused (FencedError)
in the write's own transaction, so its points are never stored twice and the Failed
status never flips; the runner stops itself and says why in its log. Before, a run
owned under another hostname got 20,033 points stored for 20,000 logged, and a stopped
local runner was never reaped at all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from pathlib import Path

import psutil
import pytest

from runyard.config import ENV_HEARTBEAT_TIMEOUT_S, heartbeat_timeout_s
from runyard.entities import MetricColumns, RunKind, RunStatus
from runyard.errors import ConfigError, FencedError
from runyard.remote.store import HttpStore
from runyard.runner.reaper import reap_dead_runs
from runyard.server import create_app
from runyard.store.base import Store
from runyard.tracking.ingest import JournalIngester
from runyard.tracking.journal import JournalWriter
from tests.support.server import open_test_store, start_server

from .harness import Project, is_count_up, pid_gone, process_if, read_count, stored_values, wait_for

POINTS = 20_000
TIMEOUT_S = 5.0
TOKEN = "fencing-token-0123456789"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(ENV_HEARTBEAT_TIMEOUT_S, str(TIMEOUT_S))
    proj = Project.create(tmp_path / "ws", slots=1)
    yield proj
    proj.close()


def _stopped_runner(project: Project) -> tuple[str, psutil.Process, Path]:
    """Submits a paced 20k-point logger and SIGSTOPs its runner once points are in the
    store; the script goes on logging into its journal meanwhile."""
    progress = project.progress("fenced")
    run = project.submit_logger(POINTS, progress, pace=1.0)
    wait_for(lambda: read_count(progress) >= 2000 or None, 120, "the script to log")
    wait_for(lambda: len(stored_values(project.store, run.id)) > 0 or None, 60, "ingest")
    info = project.store.get_run(run.id)
    assert info.status is RunStatus.RUNNING and info.owner
    runner = process_if(int(info.owner.split("@")[0]), run.id)
    assert runner is not None
    _stop_outside_a_write(runner, _db(project))
    return run.id, runner, progress


def _db(project: Project) -> Path:
    return Path(str(project.store.uri).removeprefix("sqlite:///"))


def _stop_outside_a_write(runner: psutil.Process, db: Path) -> None:
    """SIGSTOPs the runner at a moment it holds no SQLite write lock. (One stopped
    inside a write transaction blocks every writer of the workspace until it goes on:
    SQLite cannot take a lock from a live process, and neither can the reaper.)"""

    def stopped_unlocked() -> bool:
        runner.send_signal(signal.SIGSTOP)
        try:
            with contextlib.closing(sqlite3.connect(db, timeout=2)) as conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.rollback()
            return True
        except sqlite3.OperationalError:  # it holds the lock: let it finish, try again
            runner.send_signal(signal.SIGCONT)
            return False

    wait_for(stopped_unlocked, 60, "a moment the runner holds no write lock", interval=0.1)


def _reaped(project: Project, run_id: str) -> str:
    def failed() -> str | None:
        reap_dead_runs(project.store)  # what any command or waiter does
        info = project.store.get_run(run_id)
        return info.error or "" if info.status is RunStatus.FAILED else None

    return wait_for(failed, 90, "the reaper to take the stopped run", interval=0.5)


def _resume_and_check(project: Project, run_id: str, runner: psutil.Process) -> None:
    logged_before = read_count(project.progress("fenced"))
    runner.send_signal(signal.SIGCONT)
    wait_for(lambda: pid_gone(runner.pid) or None, 60, "the fenced runner to stop itself")
    info = project.store.get_run(run_id)
    assert info.status is RunStatus.FAILED, info
    values = stored_values(project.store, run_id)
    # Nothing twice, nothing out of order: the runner's late batches were refused.
    assert is_count_up(values), f"{len(values)} points stored, not 0..n-1 once each"
    # The reaper drained every whole record the journal held when it took the run.
    assert 2000 <= len(values) <= POINTS, (len(values), logged_before)
    log = project.logs(run_id)
    assert "taken from this runner" in log, log[-3000:]


def test_a_stopped_local_runner_is_reaped_and_fenced_when_it_resumes(project: Project) -> None:
    run_id, runner, _ = _stopped_runner(project)
    try:
        error = _reaped(project, run_id)
        assert "stopped (SIGSTOP)" in error and "no heartbeat" in error, error
        assert project.store.get_run(run_id).epoch == 1
        _resume_and_check(project, run_id, runner)
    finally:
        with contextlib.suppress(psutil.Error):
            runner.send_signal(signal.SIGCONT)


def test_a_runner_owned_under_another_hostname_is_fenced_not_stored_twice(
    project: Project,
) -> None:
    run_id, runner, _ = _stopped_runner(project)
    try:
        # As a container or another NFS client would own it: a pid this host cannot see.
        owner = f"{runner.pid}@runner-container.example"
        db = _db(project)
        with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn, conn:
            conn.execute("UPDATE runs SET owner = ? WHERE id = ?", (owner, run_id))
        error = _reaped(project, run_id)
        assert "no heartbeat" in error and "not on this host" in error, error
        assert runner.status() == psutil.STATUS_STOPPED  # the reaper killed nothing
        _resume_and_check(project, run_id, runner)
    finally:
        with contextlib.suppress(psutil.Error):
            runner.send_signal(signal.SIGCONT)


def _fenced_writes_are_refused(store: Store) -> None:
    experiment = store.get_or_create_experiment("fencing")
    run = store.create_run(
        experiment.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING
    )
    claimed = run.epoch
    column = MetricColumns(
        key="x", value_type="float", steps=[0, 1], timestamps=[1.0, 2.0], values=[0.0, 1.0]
    )
    store.append_metrics(run.run_id, [column], journal_offset=10, epoch=claimed)
    store.heartbeat(run.run_id, owner="1@elsewhere", epoch=claimed)
    taken = store.set_status(
        run.run_id, RunStatus.RUNNING, expected=[RunStatus.RUNNING], fence=True
    )
    assert taken.epoch == claimed + 1
    late = MetricColumns(key="x", value_type="float", steps=[2], timestamps=[3.0], values=[2.0])
    with pytest.raises(FencedError, match="taken from this runner"):
        store.append_metrics(run.run_id, [late], journal_offset=20, epoch=claimed)
    with pytest.raises(FencedError):
        store.heartbeat(run.run_id, owner="1@elsewhere", epoch=claimed)
    with pytest.raises(FencedError):
        store.set_status(run.run_id, RunStatus.COMPLETED, epoch=claimed)
    assert store.get_journal_offset(run.run_id) == 10
    assert store.get_metric_summaries(run.run_id)["x"].count == 2
    assert store.get_run(run.run_id).status is RunStatus.RUNNING
    # The reaper's own writes carry the new epoch and go through.
    store.set_status(run.run_id, RunStatus.FAILED, error="reaped", epoch=taken.epoch)


def test_a_fenced_ingest_applies_no_tag_property_or_name(tmp_path: Path) -> None:
    """The script's control records (tags, properties, display name) go through the
    same fence as its points: a reaped runner's late batch stores none of them."""
    store = open_test_store(tmp_path)
    try:
        experiment = store.get_or_create_experiment("fencing")
        run = store.create_run(
            experiment.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING
        )
        journal = tmp_path / "journal.bin"
        writer = JournalWriter(journal)
        writer.log("x", 1.0, step=0)
        writer.log_control("tags", {"phase": "late"})
        writer.log_control("properties", {"p": "late"})
        writer.log_control("display_name", {"display_name": "late"})
        writer.close()
        store.set_status(run.run_id, RunStatus.RUNNING, expected=[RunStatus.RUNNING], fence=True)
        with pytest.raises(FencedError):
            JournalIngester(store, run.run_id, journal, epoch=run.epoch).ingest_once()
        after = store.get_run(run.run_id)
        assert (after.tags, after.properties, after.display_name) == ({}, {}, run.display_name)
        assert store.get_metric_summaries(run.run_id) == {}
        # The runner holding the run now (the reaper's epoch) applies them all.
        JournalIngester(store, run.run_id, journal, epoch=after.epoch).drain()
        now = store.get_run(run.run_id)
        assert (now.tags, now.properties, now.display_name) == (
            {"phase": "late"}, {"p": "late"}, "late",
        )  # fmt: skip
    finally:
        store.close()


def test_stale_epochs_are_refused_by_sqlite_and_through_the_http_store(tmp_path: Path) -> None:
    local = open_test_store(tmp_path / "local")
    _fenced_writes_are_refused(local)
    served = open_test_store(tmp_path / "served")
    server = start_server(create_app(served, token=TOKEN))
    remote = HttpStore(server.url, token=TOKEN, retry_for=5)
    try:
        _fenced_writes_are_refused(remote)  # FencedError comes back as itself
    finally:
        remote.close()
        server.stop()
        served.close()
        local.close()


def test_the_heartbeat_timeout_is_configurable_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_HEARTBEAT_TIMEOUT_S, raising=False)
    assert heartbeat_timeout_s() == 30.0
    monkeypatch.setenv(ENV_HEARTBEAT_TIMEOUT_S, "90")
    assert heartbeat_timeout_s() == 90.0
    for bad in ("1", "soon", "nan", "inf", "-5"):
        monkeypatch.setenv(ENV_HEARTBEAT_TIMEOUT_S, bad)
        with pytest.raises(ConfigError, match=ENV_HEARTBEAT_TIMEOUT_S):
            heartbeat_timeout_s()
    assert os.environ[ENV_HEARTBEAT_TIMEOUT_S] == "-5"
