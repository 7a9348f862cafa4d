"""``run.complete()`` hands the drain to the ingest thread and returns; the process still
reads back everything it logged, other processes never see a final status before the
last point, and an interpreter that exits right after ``complete()`` finishes the run."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from runyard.core import Experiment, Workspace
from runyard.store.sql import engine as engine_mod

STEPS = 20_000  # x 3 metrics: far over the backlog a finisher thread is used for


def _db(ws: Workspace) -> Path:
    return Path(str(ws.store.uri).removeprefix("sqlite:///"))


def _log(run: object, steps: int = STEPS) -> None:
    for step in range(steps):
        for m, name in enumerate(("loss", "acc", "lr")):
            run.log(name, (step * 7 + m) / 7.0, step=step)  # type: ignore[attr-defined]


def test_complete_does_not_wait_for_the_database(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj")
    run = Experiment(ws, "finish").start_logging()
    # Another connection holds SQLite's write lock: nothing can be stored meanwhile.
    db = sqlite3.connect(_db(ws), timeout=30)
    db.execute("BEGIN IMMEDIATE")
    try:
        _log(run)
        run.complete()  # returns: a drain would wait for the lock (30 s, then fail)
        (status,) = db.execute("SELECT status FROM runs WHERE id = ?", (run.id,)).fetchone()
        assert status == "Running"  # not Completed before its points are in
    finally:
        db.commit()
        db.close()
    # This process reads its own writes: the calls wait for the finisher.
    assert run.get_status() == "Completed"
    metrics = run.get_metrics()
    assert len(metrics["loss"]) == STEPS and metrics["lr"][-1] == ((STEPS - 1) * 7 + 2) / 7.0
    assert list(ws.store.get_metric_series(run.id, "acc").values[:3]) == [1 / 7, 8 / 7, 15 / 7]
    ws.close()


def test_a_second_end_while_the_first_fails_in_the_background_drains_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first complete() goes to the ingest thread and fails there (the write lock is
    # held past the busy timeout). A second complete(), called meanwhile, waits for it,
    # then ends the run itself: the drain first, so no Completed without the points.
    monkeypatch.setattr(engine_mod, "BUSY_TIMEOUT_S", 1.0)
    ws = Workspace.create(tmp_path / "proj")
    run = Experiment(ws, "twice").start_logging()
    db = sqlite3.connect(_db(ws), timeout=30, check_same_thread=False)
    db.execute("BEGIN IMMEDIATE")
    released = threading.Timer(1.5, db.commit)  # after the finisher gave up
    try:
        _log(run)
        run.complete()  # handed off; fails after 1 s
        released.start()
        run.complete()  # waits for it, then drains and ends the run in place
    finally:
        released.join()
        db.close()
    # As any other reader sees it now, not through the run (whose reads flush): still
    # finishing (the end may go to the ingest thread again), or Completed with every point.
    other = sqlite3.connect(_db(ws))
    (status,) = other.execute("SELECT status FROM runs WHERE id = ?", (run.id,)).fetchone()
    stored = other.execute(
        "SELECT count FROM metric_summaries WHERE run_id = ? AND key = 'loss'", (run.id,)
    ).fetchall()
    assert status == "Running" or stored == [(STEPS,)], (status, stored)
    other.close()
    ws.close()  # waits for the finisher
    again = Workspace.from_config(tmp_path / "proj")
    assert again.store.get_run(run.id).status.value == "Completed"
    assert again.store.get_metric_summaries(run.id)["loss"].count == STEPS
    again.close()


def test_runs_ended_back_to_back_then_the_workspace_closed(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj")
    exp = Experiment(ws, "many")
    ids = []
    for _ in range(4):
        run = exp.start_logging()
        _log(run, 5_000)
        run.complete()
        ids.append(run.id)
    assert sorted(r.get_status() for r in exp.get_runs()) == ["Completed"] * 4
    ws.close()  # waits for the last finisher: nothing is cut off
    again = Workspace.from_config(tmp_path / "proj")
    for run_id in ids:
        assert again.store.get_run(run_id).status.value == "Completed"
        assert len(again.store.get_metric_series(run_id, "lr").values) == 5_000
    again.close()


def test_a_process_that_exits_right_after_complete(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj")
    script = textwrap.dedent(
        f"""
        from runyard.core import Experiment, Workspace
        ws = Workspace.from_config({str(tmp_path / "proj")!r})
        run = Experiment(ws, "exit").start_logging()
        for step in range({STEPS}):
            run.log("x", step * 0.5, step=step)
        run.complete()
        print(run.id, flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[-1]
    assert ws.store.get_run(run_id).status.value == "Completed"
    values = ws.store.get_metric_series(run_id, "x").values
    assert len(values) == STEPS and values[-1] == (STEPS - 1) * 0.5
    ws.close()


def _locked_run(
    tmp_path: Path, ws: Workspace, prelude: str, after: str, stderr: IO[str] | None = None
) -> tuple[subprocess.Popen[str], str, sqlite3.Connection]:
    """Starts a script that opens a run, then (once this test holds SQLite's write lock)
    logs STEPS points, calls complete() and runs ``after``. Returns the process, the
    run's id and the connection holding the lock."""
    locked = tmp_path / "locked"
    script = textwrap.dedent(
        f"""
        import os, signal, time
        from pathlib import Path
        {prelude}
        from runyard.core import Experiment, Workspace
        ws = Workspace.from_config({str(tmp_path / "proj")!r})
        run = Experiment(ws, "locked").start_logging()
        print(run.id, flush=True)
        while not Path({str(locked)!r}).exists():
            time.sleep(0.01)
        for step in range({STEPS}):
            run.log("x", step * 0.5, step=step)
        run.complete()
        {after}
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=stderr, text=True
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    db = sqlite3.connect(_db(ws), timeout=30)
    db.execute("BEGIN IMMEDIATE")
    locked.touch()
    return proc, run_id, db


def test_a_failed_finish_is_tried_again_at_exit(tmp_path: Path) -> None:
    """The finisher meets a locked database (the busy timeout cut to 1 s): the error is
    logged, and the process's exit ends the run after all, every point stored."""
    ws = Workspace.create(tmp_path / "proj")
    go, log = tmp_path / "go", tmp_path / "stderr.txt"
    prelude = "import logging; import runyard.store.sql.engine as e; e.BUSY_TIMEOUT_S = 1.0"
    prelude += "; logging.basicConfig()"
    wait_for_go = f"while not Path({str(go)!r}).exists(): time.sleep(0.01)"
    with open(log, "w") as err:
        proc, run_id, db = _locked_run(tmp_path, ws, prelude, wait_for_go, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while "finishing it failed" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        db.commit()
        db.close()
        go.touch()
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        proc.kill()
    assert ws.store.get_run(run_id).status.value == "Completed"
    assert len(ws.store.get_metric_series(run_id, "x").values) == STEPS
    ws.close()


def test_killed_while_finishing_ends_as_it_asked(tmp_path: Path) -> None:
    """SIGKILL right after complete(), the finisher held up by a locked database: the
    reaper stores the journal's points and ends the run Completed, as asked."""
    ws = Workspace.create(tmp_path / "proj")
    proc, run_id, db = _locked_run(tmp_path, ws, "", "os.kill(os.getpid(), signal.SIGKILL)")
    try:
        assert proc.wait(timeout=60) == -9
        (status,) = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        assert status == "Running"  # it died before storing its end
        db.commit()
        db.close()
    finally:
        proc.kill()
    ws.close()
    again = Workspace.from_config(tmp_path / "proj")  # opening it reaps the dead run
    info = again.store.get_run(run_id)
    assert (info.status.value, info.error) == ("Completed", None)
    assert len(again.store.get_metric_series(run_id, "x").values) == STEPS
    again.close()


def test_a_studio_served_by_the_same_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client run logging over HTTP to a studio this very process serves: its finisher's
    requests are answered (the studio's threads do not wait for it), and the thread that
    ended the run reads it back whole."""
    from runyard.server import create_app
    from tests.support.server import start_server

    monkeypatch.setenv("RUNYARD_TOKEN", "t")
    home = Workspace.create(tmp_path / "home", show_output=False)
    srv = start_server(create_app(home.store, token="t"))
    try:
        client = Workspace.create(tmp_path / "client", tracking_uri=srv.url, show_output=False)
        run = Experiment(client, "served").start_logging()
        _log(run, 4_000)
        run.complete()
        assert run.get_status() == "Completed"
        assert len(home.store.get_metric_series(run.id, "lr").values) == 4_000
        client.close()
    finally:
        srv.stop()
        home.close()
