"""The local compute target: slots, queueing, dispatch and cancellation."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.entities import ACTIVE_STATUSES, ComputeTargetConfig, RunQuery, RunStatus
from runyard.errors import ComputeError, RunNotFoundError
from runyard.targets import get_dispatcher
from runyard.targets.cancel import cancel_run
from runyard.workspace.owner import local_pid
from tests.test_runner_support import GRACE_S, Workspace, make_workspace, pid_gone, wait_for


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with make_workspace(tmp_path, slots=2) as workspace:
        yield workspace


def test_eight_runs_on_two_slots_never_exceed_two_at_once(ws: Workspace) -> None:
    runs = [ws.create("import time\ntime.sleep(0.3)\nprint('ok')\n") for _ in range(8)]
    assert len(ws.dispatch()) == 2
    # Dispatching again while both slots are busy starts nothing.
    assert ws.dispatch() == []
    ids = [r.run_id for r in runs]
    most = 0
    deadline = time.monotonic() + 90
    while True:
        # One query: a consistent view (one get_run per run could see a run finish
        # and its successor start in two different moments).
        page = ws.store.search_runs(RunQuery(experiment_id=runs[0].experiment_id))
        by_id = {r.run_id: r.status for r in page.runs}
        statuses = [by_id[i] for i in ids]
        most = max(most, sum(s in ACTIVE_STATUSES for s in statuses))
        if all(s.is_terminal() for s in statuses):
            break
        assert time.monotonic() < deadline, f"runs did not finish: {statuses}"
        time.sleep(0.01)
    assert most == 2
    assert statuses == [RunStatus.COMPLETED] * 8
    # Queued runs started in the order they were queued.
    started = [ws.store.get_run(i).started_at or 0.0 for i in ids]
    assert started[:2] < started[2:] or max(started[:2]) <= min(started[2:])


CANCELLABLE = """
import signal, sys, time
IGNORE = {ignore}
if IGNORE:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: (print("got SIGTERM", flush=True), sys.exit(143)))
print("waiting", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("ignore_sigterm", [False, True])
def test_cancel_stops_a_running_script_within_the_grace_period(
    ws: Workspace, ignore_sigterm: bool
) -> None:
    run = ws.submit(CANCELLABLE.format(ignore=ignore_sigterm))
    ws.wait_log(run.run_id, "waiting")
    running = ws.wait_status(run.run_id, RunStatus.RUNNING)
    asked = time.monotonic()
    assert cancel_run(ws.store, run.run_id).cancel_requested_at is not None
    done = ws.wait(run.run_id, timeout=15)
    took = time.monotonic() - asked
    assert done.status is RunStatus.CANCELED
    assert done.error == "canceled: the runner received SIGTERM"
    assert took < GRACE_S + 5
    if ignore_sigterm:
        assert took >= GRACE_S  # it had its grace period, then SIGKILL
        assert done.exit_code == 137
    else:
        assert "got SIGTERM" in ws.log(run.run_id)
        assert done.exit_code == 143
    assert running.owner is not None


def test_cancel_requested_is_seen_at_the_heartbeat(ws: Workspace) -> None:
    # What a runner on another machine sees: only the flag, no signal.
    run = ws.submit(CANCELLABLE.format(ignore=False))
    ws.wait_log(run.run_id, "waiting")
    ws.wait_status(run.run_id, RunStatus.RUNNING)
    asked = ws.store.request_cancel(run.run_id)
    assert asked.status is RunStatus.RUNNING and asked.cancel_requested_at is not None
    done = ws.wait(run.run_id, timeout=15)
    assert (done.status, done.error) == (RunStatus.CANCELED, "canceled on request")


def test_cancel_a_queued_run_and_a_finished_one(ws: Workspace) -> None:
    queued = ws.create("print('never')\n")
    canceled = cancel_run(ws.store, queued.run_id)
    assert canceled.status is RunStatus.CANCELED and canceled.ended_at is not None
    assert ws.dispatch() == []  # nothing left to start
    assert cancel_run(ws.store, queued.run_id) == ws.store.get_run(queued.run_id)
    with pytest.raises(RunNotFoundError):
        cancel_run(ws.store, "no-such-run")


def test_request_cancel_is_a_store_operation(ws: Workspace) -> None:
    queued = ws.create("print('never')\n")
    done = ws.store.request_cancel(queued.run_id)
    assert (done.status, done.error) == (RunStatus.CANCELED, "canceled while queued")
    assert done.cancel_requested_at is not None and done.ended_at is not None
    assert ws.store.request_cancel(queued.run_id) == done  # finished: unchanged
    active = ws.create("print('claimed, never started')\n")
    assert ws.store.claim_next_queued("cpu", 2) is not None
    first = ws.store.request_cancel(active.run_id)
    again = ws.store.request_cancel(active.run_id)
    assert first.status is again.status is RunStatus.PREPARING  # its runner ends it
    assert first.cancel_requested_at is not None
    assert again.cancel_requested_at == first.cancel_requested_at  # the first request counts
    with pytest.raises(RunNotFoundError):
        ws.store.request_cancel("no-such-run")


@pytest.fixture
def silent_index() -> Iterator[str]:
    """A package index that accepts connections and never answers: a build that uses
    it hangs (as with a very slow index) until it is stopped."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/simple"


@pytest.mark.usefixtures("env_cache")
@pytest.mark.parametrize("signalled", [True, False], ids=["cancel_run", "store-only"])
def test_cancel_stops_the_environment_build(
    ws: Workspace, silent_index: str, signalled: bool
) -> None:
    spec = {
        "schema": 1,
        "name": "stuck",
        "pip": [f"six=={time.time_ns()}"],  # a spec no earlier test has built
        "pip_options": [f"--index-url {silent_index}"],
    }
    run = ws.submit("print('never')\n", environment={"name": "stuck", "version": 1, "spec": spec})
    build_log = ws.artifacts.local_path(run.run_id, "system_logs/environment_build.log")
    wait_for(lambda: build_log.exists() and "$ " in build_log.read_text(), 30, "the build")
    runner = local_pid(ws.store.get_run(run.run_id).owner)
    assert runner is not None
    asked = time.monotonic()
    if signalled:
        cancel_run(ws.store, run.run_id)
    else:  # what a runner on another machine gets: only the store's request
        ws.store.request_cancel(run.run_id)
    done = ws.wait(run.run_id, timeout=20)
    assert (done.status, done.error) == (RunStatus.CANCELED, "canceled before the script started")
    assert time.monotonic() - asked < 8  # the heartbeat (2 s) sees it; no build timeout
    wait_for(lambda: pid_gone(runner), 10, "the runner to exit")
    assert "never" not in ws.log(run.run_id)


def test_a_finishing_runner_starts_the_next_queued_run(tmp_path: Path) -> None:
    with make_workspace(tmp_path, slots=1) as ws:
        first = ws.create("print('first')\n")
        second = ws.create("print('second')\n")
        assert ws.dispatch() == [first.run_id]
        # Nobody dispatches again: the first run's runner launches the second.
        assert ws.wait(second.run_id).status is RunStatus.COMPLETED
        assert ws.store.get_run(first.run_id).status is RunStatus.COMPLETED


def test_the_run_outlives_the_process_that_dispatched_it(ws: Workspace) -> None:
    run = ws.create("import time\ntime.sleep(1)\nprint('done')\n")
    code = (
        "import sys; from pathlib import Path\n"
        "from runyard.targets.local import dispatch\n"
        "from runyard.runner.local import open_workspace_store\n"
        "ws, store = open_workspace_store(Path(sys.argv[1]))\n"
        "print(dispatch(store, ws.config_path, ws.target('cpu')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ws.config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert run.run_id in done.stdout  # the dispatcher has exited; the run goes on
    owner = ws.store.get_run(run.run_id).owner
    assert owner is not None
    runner = int(owner.split("@")[0])
    assert os.getpgid(runner) == runner  # a session of its own: no terminal's signals
    assert ws.wait(run.run_id).status is RunStatus.COMPLETED
    assert ws.log(run.run_id) == "done\n"
    wait_for(lambda: pid_gone(runner), 10, "the runner to exit")


def test_get_dispatcher() -> None:
    local = ComputeTargetConfig(name="cpu", type="local", max_concurrent_runs=2)
    assert hasattr(get_dispatcher(local), "dispatch")
    with pytest.raises(ComputeError, match="'slurm'"):
        get_dispatcher(ComputeTargetConfig(name="hpc", type="slurm"))
