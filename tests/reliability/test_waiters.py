"""Waiters never hang on a dead runner (issue 13 item 3).

``wait_for_completion()`` checks the runner's liveness while it waits: after the runner
is SIGKILLed while Running the waiter reaps the run (Failed, naming the dead process)
and returns within seconds, and the Queued run behind it starts without a new submit.
Before, the waiter saw "Running" for ever and the queued run stayed Queued.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from runyard.entities import RunStatus

from .harness import Project, process_if, read_count, sigkill, wait_for


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
