"""Waiters never hang on a dead runner (issue 13 item 3).

``wait_for_completion()`` checks the runner's liveness while it waits: after the runner
is SIGKILLed while Running the waiter reaps the run (Failed, naming the dead process)
and returns within seconds, and the Queued run behind it starts without a new submit.
Before, the waiter saw "Running" for ever and the queued run stayed Queued. A cancel
while the environment builds (Preparing) stops the build and ends the run Canceled.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from runyard.core import Experiment, ScriptRunConfig
from runyard.core.environment import CondaDependencies, Environment
from runyard.entities import RunInfo, RunStatus

from .harness import TARGET, Project, process_if, read_count, sigkill, wait_for


@pytest.fixture
def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    proj = Project.create(tmp_path / "ws", slots=1)
    yield proj
    proj.close()


def test_a_waiter_ends_within_seconds_of_the_runner_dying_and_the_queued_run_starts(
    project: Project,
) -> None:
    progress = project.progress("killed")
    run = project.submit_logger(10**9, progress, pace=0.05)
    behind = project.submit_logger(2000, project.progress("behind"))
    wait_for(lambda: read_count(progress) >= 1000 or None, 120, "the first run to log")
    wait_for(
        lambda: project.store.get_run(run.id).status is RunStatus.RUNNING or None, 60, "Running"
    )
    info = project.store.get_run(run.id)
    assert info.owner
    assert project.store.get_run(behind.id).status is RunStatus.QUEUED
    runner = process_if(int(info.owner.split("@")[0]), run.id)
    assert runner is not None

    result: dict[str, object] = {}

    def waiter() -> None:
        try:
            result["details"] = run.wait_for_completion(raise_on_error=False)
        except Exception as exc:  # reported by the assertion below
            result["error"] = exc

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    time.sleep(0.5)  # the waiter is polling a live run now
    assert sigkill(runner)
    killed_at = time.monotonic()
    thread.join(timeout=20)
    waited = time.monotonic() - killed_at
    assert not thread.is_alive(), "wait_for_completion() still waiting 20 s after the kill"
    assert "error" not in result, result
    ended = project.store.get_run(run.id)
    assert ended.status is RunStatus.FAILED
    assert "died" in (ended.error or ""), ended.error
    assert waited < 10, f"the waiter took {waited:.1f} s"
    # The slot the dead runner held is free: the queued run starts with no new submit.
    done = project.wait_terminal([behind.id], timeout=120)[behind.id]
    assert done.status is RunStatus.COMPLETED, project.logs(behind.id)


class _SilentIndex:
    """A package index that accepts connections and never answers: a build that
    needs it stays in Preparing until it is stopped."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.connections.append(conn)  # held open, never answered

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.sock.close()


def test_cancel_while_preparing_stops_the_build_and_ends_canceled(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _SilentIndex()
    try:
        url = f"http://127.0.0.1:{index.port}/simple"
        monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("PIP_INDEX_URL", url)
        monkeypatch.setenv("UV_INDEX_URL", url)
        monkeypatch.setenv("UV_NO_CACHE", "1")
        env = Environment("slow-index")
        env.python.conda_dependencies = CondaDependencies.create(
            pip_packages=[f"runyard-not-on-any-index-{index.port}"]
        )
        config = ScriptRunConfig(
            source_directory=str(project.root / "src"),
            script="train.py",
            arguments=[10, str(project.progress("never")), 0.0],
            compute_target=TARGET,
            environment=env,
        )
        run = Experiment(project.ws, "slow-build").submit(config)
        project.runs.append(run.id)
        wait_for(lambda: index.connections or None, 120, "the build to reach the index")
        assert project.store.get_run(run.id).status is RunStatus.PREPARING
        run.cancel()
        asked = time.monotonic()
        info = project.wait_terminal([run.id], timeout=30)[run.id]
        took = time.monotonic() - asked
        assert info.status is RunStatus.CANCELED, (info.status, info.error)
        assert took < 15, f"the run ended {took:.1f} s after the cancel"
    finally:
        index.close()


def _running(project: Project, run_id: str) -> RunInfo | None:
    info = project.store.get_run(run_id)
    return info if info.status is RunStatus.RUNNING else None


@pytest.mark.soak
def test_soak_waiters_end_within_seconds_of_every_runner_death(tmp_path: Path) -> None:
    """10 times: a waiter on a Running run whose runner is SIGKILLed returns Failed."""
    from .harness import record

    project = Project.create(tmp_path / "ws", slots=1)
    waits: list[float] = []
    try:
        for i in range(10):
            progress = project.progress(f"killed-{i}")
            run = project.submit_logger(10**9, progress, pace=0.05)
            wait_for(lambda p=progress: read_count(p) >= 1000 or None, 120, "logging")  # type: ignore[misc]
            info = wait_for(lambda r=run: _running(project, r.id), 60, "Running")  # type: ignore[misc]
            assert info.owner
            runner = process_if(int(info.owner.split("@")[0]), run.id)
            assert runner is not None
            thread = threading.Thread(
                target=run.wait_for_completion, kwargs={"raise_on_error": False}, daemon=True
            )
            thread.start()
            time.sleep(0.3)
            assert sigkill(runner)
            killed_at = time.monotonic()
            thread.join(timeout=30)
            assert not thread.is_alive(), f"kill {i}: the waiter still waits 30 s later"
            waits.append(time.monotonic() - killed_at)
            ended = project.store.get_run(run.id)
            assert ended.status is RunStatus.FAILED and "died" in (ended.error or "")
        record(
            "waiters",
            runner_kills=len(waits),
            waiters_ended=len(waits),
            wait_max_s=round(max(waits), 2),
            wait_median_s=round(sorted(waits)[len(waits) // 2], 2),
        )
        assert max(waits) < 10, waits
    finally:
        project.close()
