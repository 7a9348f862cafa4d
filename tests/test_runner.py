"""The runner, end to end: real runner processes supervising real scripts."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from runyard.entities import ComputeTargetConfig, RunStatus
from runyard.runner.local import local_parts
from runyard.runner.slots import RunStarter
from runyard.runner.supervisor import Supervisor
from runyard.workspace.owner import local_pid
from runyard.workspace.paths import ResolvedWorkspace
from tests.test_runner_support import Workspace, make_workspace, pid_gone, wait_for


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with make_workspace(tmp_path) as workspace:
        yield workspace


SUCCEEDS = """
    import json, os, sys
    from runyard.core import Run
    print("hello from the script", flush=True)
    run = Run.get_context()
    for i in range(100):
        run.log("loss", 1.0 / (i + 1))
    os.makedirs("outputs/nested", exist_ok=True)
    open("outputs/nested/model.txt", "w").write("weights")
    os.makedirs("logs", exist_ok=True)
    open("logs/extra.log", "w").write("more")
    env = {k: v for k, v in os.environ.items() if k.startswith(("RUNYARD_", "MY_", "PYTHONUN"))}
    print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "env": env}))
    print("bye", file=sys.stderr)
"""


def test_a_run_that_succeeds(ws: Workspace) -> None:
    run = ws.submit(
        SUCCEEDS, arguments=["--epochs", "2"], environment_variables={"MY_SETTING": "on"}
    )
    done = ws.wait(run.run_id)
    assert done.status is RunStatus.COMPLETED, done.error
    assert (done.exit_code, done.error) == (0, None)
    assert done.started_at is not None and done.ended_at is not None
    assert done.duration is not None and done.duration > 0
    log = ws.log(run.run_id)
    assert log.startswith("hello from the script\n") and log.endswith("bye\n")
    seen = json.loads(log.splitlines()[1])
    assert seen["argv"] == ["--epochs", "2"]
    assert seen["cwd"] == str(ws.artifacts.run_dir(run.run_id) / "work")
    assert seen["env"] == {
        "RUNYARD_RUN_ID": run.run_id,
        "RUNYARD_TRACKING_URI": f"sqlite:///{ws.root / '.runyard' / 'runyard.db'}",
        "RUNYARD_ARTIFACT_ROOT": str(ws.artifacts.root),
        "RUNYARD_JOURNAL": str(ws.artifacts.journal_path(run.run_id)),
        "RUNYARD_WORKSPACE": str(ws.config_path),
        "RUNYARD_STUDIO_URL": "http://127.0.0.1:8765",
        "MY_SETTING": "on",
        "PYTHONUNBUFFERED": "1",
    }
    files = {f.path for f in ws.artifacts.list_files(run.run_id)}
    assert {"outputs/nested/model.txt", "logs/extra.log", "system_logs/driver.log"} <= files
    assert ws.artifacts.read_bytes(run.run_id, "outputs/nested/model.txt") == b"weights"
    assert ws.store.get_metric_summaries(run.run_id)["loss"].count == 100
    runner = local_pid(done.owner)
    assert runner is not None
    wait_for(lambda: pid_gone(runner), 10, "the runner to exit")
    # The working folder is gone; the runner's own log stayed.
    assert not (ws.artifacts.run_dir(run.run_id) / "work").exists()
    runner_log = (ws.artifacts.run_dir(run.run_id) / "runner.log").read_text()
    assert "hello from the script" in runner_log and "Completed" in runner_log


def test_a_run_that_raises_is_failed_with_its_traceback(ws: Workspace) -> None:
    run = ws.submit(
        """
        def train():
            raise ValueError("learning rate must be positive")
        print("starting")
        train()
        """
    )
    done = ws.wait(run.run_id)
    assert done.status is RunStatus.FAILED and done.exit_code == 1
    assert done.error is not None
    assert done.error.startswith("Traceback (most recent call last):")
    assert done.error.splitlines()[-1] == "ValueError: learning rate must be positive"
    assert "in train" in done.error


def test_a_run_that_exits_with_a_code(ws: Workspace) -> None:
    run = ws.submit("import sys\nprint('bad data')\nsys.exit(3)\n")
    done = ws.wait(run.run_id)
    assert (done.status, done.exit_code, done.error) == (
        RunStatus.FAILED,
        3,
        "exited with code 3",
    )


def test_a_missing_script_fails_with_a_clear_error(ws: Workspace) -> None:
    run = ws.submit(script="train.py", files={"other.py": "print(1)\n"})
    done = ws.wait(run.run_id)
    assert done.status is RunStatus.FAILED
    assert done.error is not None
    assert "'train.py' is not in the snapshot" in done.error and "source_directory" in done.error


def test_a_missing_snapshot_fails_with_a_clear_error(ws: Workspace) -> None:
    run = ws.create("print(1)\n")
    ws.store.update_definition(run.run_id, {"snapshot_id": "f" * 64})
    ws.dispatch()
    done = ws.wait(run.run_id)
    assert done.status is RunStatus.FAILED
    assert done.error is not None and f"snapshot {'f' * 64} is not stored" in done.error


def test_a_run_over_its_duration_is_stopped(ws: Workspace) -> None:
    run = ws.submit("import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n", max_duration=1)
    done = ws.wait(run.run_id, timeout=20)
    assert done.status is RunStatus.FAILED
    assert done.error == "exceeded max_run_duration_seconds=1"
    assert done.exit_code == 128 + signal.SIGTERM
    assert done.duration is not None and done.duration < 10


def test_a_script_killed_mid_logging_keeps_every_point(ws: Workspace, tmp_path: Path) -> None:
    pid_file = tmp_path / "script.pid"
    run = ws.submit(
        f"""
        import os, time
        from runyard.core import Run
        run = Run.get_context()
        for i in range(50_000):
            run.log("step", i)
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        print("logged", flush=True)
        time.sleep(60)
        """
    )
    ws.wait_log(run.run_id, "logged")
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    done = ws.wait(run.run_id)
    assert done.status is RunStatus.FAILED and done.exit_code == 128 + signal.SIGKILL
    assert done.error is not None and "killed by SIGKILL" in done.error
    series = ws.store.get_metric_series(run.run_id, "step")
    assert series.total_count == 50_000
    assert list(series.values) == list(range(50_000))


def test_a_killed_runner_is_reaped_and_its_script_dies_too(ws: Workspace, tmp_path: Path) -> None:
    from runyard.runner.reaper import reap_dead_runs

    pid_file = tmp_path / "script.pid"
    run = ws.submit(
        f"""
        import os, time
        from runyard.core import Run
        run = Run.get_context()
        for i in range(20_000):
            run.log("step", i)
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        print("logged", flush=True)
        time.sleep(60)
        """
    )
    ws.wait_log(run.run_id, "logged")
    running = ws.wait_status(run.run_id, RunStatus.RUNNING)
    runner_pid = local_pid(running.owner)
    assert runner_pid is not None
    script_pid = int(pid_file.read_text())
    os.kill(runner_pid, signal.SIGKILL)
    wait_for(lambda: pid_gone(script_pid), 10, "the script to die with its runner")
    assert reap_dead_runs(ws.store) == [run.run_id]
    done = ws.store.get_run(run.run_id)
    assert done.status is RunStatus.FAILED
    assert done.error == f"runner process {runner_pid} died"
    assert ws.store.get_metric_series(run.run_id, "step").total_count == 20_000
    assert reap_dead_runs(ws.store) == []


def test_a_runner_that_breaks_still_fails_the_run(ws: Workspace) -> None:
    run = ws.create("print(1)\n")
    # The driver log's folder is a file: the runner cannot start the script.
    ws.artifacts.local_path(run.run_id, "system_logs").parent.mkdir(parents=True)
    ws.artifacts.local_path(run.run_id, "system_logs").write_text("in the way")
    ws.dispatch()
    done = ws.wait(run.run_id)
    assert done.status is RunStatus.FAILED
    assert done.error is not None and done.error.startswith("runner crashed: ")


def user_managed(interpreter: str) -> dict[str, object]:
    spec = {
        "schema": 1,
        "name": "mine",
        "user_managed": True,
        "interpreter_path": interpreter,
        "environment_variables": {"FROM_THE_ENVIRONMENT": "yes"},
    }
    return {"name": "mine", "version": 1, "spec": spec}


def test_the_environment_is_prepared_and_recorded(ws: Workspace) -> None:
    run = ws.submit(
        "import os, sys\nprint(os.environ['FROM_THE_ENVIRONMENT'], sys.executable)\n",
        environment=user_managed(sys.executable),
    )
    done = ws.wait(run.run_id)
    assert done.status is RunStatus.COMPLETED, done.error
    assert ws.log(run.run_id) == f"yes {sys.executable}\n"
    recorded = done.definition["environment"]
    assert recorded["name"] == "mine" and len(recorded["spec_hash"]) == 64
    assert recorded["lock"] == "" and recorded["python"] == sys.executable
    build_log = ws.artifacts.read_bytes(run.run_id, "system_logs/environment_build.log")
    assert b"user-managed interpreter" in build_log


def test_an_environment_that_cannot_be_prepared_fails_the_run(ws: Workspace) -> None:
    run = ws.submit("print(1)\n", environment=user_managed("/no/such/python"))
    done = ws.wait(run.run_id)
    assert done.status is RunStatus.FAILED
    assert done.error is not None
    assert "the environment could not be prepared" in done.error
    assert "/no/such/python" in done.error and "environment_build.log" in done.error


def test_the_supervisor_runs_on_the_parts_it_is_handed(ws: Workspace) -> None:
    """Local and remote runs differ only in their parts: here a log sink and a launcher
    that record what the supervisor asks of them, in this process."""
    run = ws.create("print('hi from the parts')\n")
    assert ws.store.claim_next_queued("cpu", 1) is not None
    asked: list[object] = []

    class RecordingLogs:
        def start(self) -> None:
            asked.append("start")

        def finish(self) -> bool:
            asked.append(("finish", ws.store.get_run(run.run_id).status))
            return True

    class RecordingLauncher:
        def starter(self, target: ComputeTargetConfig) -> RunStarter | None:
            asked.append(("starter", target.name))
            return None

    parts = replace(
        local_parts(run.run_id, ResolvedWorkspace.load(ws.config_path)),
        logs=RecordingLogs(),
        launcher=RecordingLauncher(),
    )
    assert Supervisor(parts).run() == 0
    done = ws.store.get_run(run.run_id)
    assert done.status is RunStatus.COMPLETED, done.error
    assert ws.log(run.run_id) == "hi from the parts\n"
    # The logs are finished before the final status, the next run asked for after it.
    assert asked == ["start", ("finish", RunStatus.FINALIZING), ("starter", "cpu")]
