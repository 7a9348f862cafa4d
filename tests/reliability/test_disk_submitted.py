"""A submitted script that catches DiskFullError and exits 0 does not end Completed
(issue 13 item 2).

When the journal cannot grow, the writer puts one last record into the space it keeps
free at the end of every reserved segment: a final Failed status naming the disk (or
the file size limit). The runner reads it at the script's end, so the run ends Failed
with that reason even though the script went on and exited 0. Before, such a run ended
Completed with its points silently cut short.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.core import Experiment, ScriptRunConfig
from runyard.entities import RunStatus

from .harness import TARGET, Project, wait_for

CATCHING_SCRIPT = """\
import resource, sys
from runyard.core import Run
from runyard.errors import DiskFullError

limit, complete = int(sys.argv[1]), sys.argv[2] == "complete"
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # this process only
run = Run.get_context()
try:
    for i in range(10**8):
        run.log("x", float(i))
except DiskFullError as exc:
    print("FULL", i, exc, flush=True)
if complete:
    run.complete()  # no error either: the failure recorded stands
sys.exit(0)  # a clean exit must not turn the run Completed
"""


def _submit(project: Project, limit: int, then: str) -> str:
    (project.root / "src" / "catch.py").write_text(CATCHING_SCRIPT)
    config = ScriptRunConfig(
        source_directory=str(project.root / "src"),
        script="catch.py",
        arguments=[limit, then],
        compute_target=TARGET,
    )
    run = Experiment(project.ws, "disk").submit(config)
    project.runs.append(run.id)
    return run.id


def _check_failed(project: Project, run_id: str, names: str) -> None:
    info = project.wait_terminal([run_id], timeout=180)[run_id]
    logs = project.logs(run_id)
    assert "FULL" in logs, logs[-3000:]
    assert info.exit_code == 0, (info, logs[-3000:])
    assert info.status is RunStatus.FAILED, (info, logs[-3000:])
    assert "logging failed" in (info.error or "") and names in (info.error or ""), info.error
    assert project.store.get_metric_summaries(run_id)["x"].count > 1000


def test_a_submitted_script_catching_a_file_size_limit_ends_failed(tmp_path: Path) -> None:
    project = Project.create(tmp_path / "ws")
    try:
        _check_failed(project, _submit(project, 3 << 20, "complete"), "ulimit -f")
    finally:
        project.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        # The runner may still be leaving (cleaning its folder): wait for it, then let go.
        with contextlib.suppress(Exception):
            wait_for(lambda: _umount(mount) or None, 30, "the tmpfs to unmount", interval=0.2)
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def _umount(mount: Path) -> bool:
    done = subprocess.run(["umount", str(mount)], capture_output=True, check=False, timeout=30)
    return done.returncode == 0


def test_a_submitted_script_catching_a_full_disk_ends_failed_naming_it(
    small_disk: Path, tmp_path: Path
) -> None:
    project = Project.create(tmp_path / "ws")
    try:
        # The run's files (its journal) on a disk with about 3 MiB free; the database
        # elsewhere, so the run's end can be recorded.
        config_path = Path(project.ws.config_path)
        config = json.loads(config_path.read_text())
        config["artifact_root"] = str(small_disk / "artifacts")
        config_path.write_text(json.dumps(config))
        project.ws.close()
        project = Project(project.root, type(project.ws).from_config(project.root))
        with open(small_disk / "filler", "wb") as f:
            f.write(b"\0" * (21 << 20))
        _check_failed(project, _submit(project, 0, "exit"), "is full")
    finally:
        project.close()


@pytest.mark.soak
def test_soak_submitted_runs_hitting_a_file_size_limit_all_end_failed(tmp_path: Path) -> None:
    """10 runs hit a file size limit (2 to 11 MiB) and exit 0: all Failed, naming it."""
    from .harness import record

    project = Project.create(tmp_path / "ws", slots=2)
    try:
        ids = [_submit(project, (2 + i) << 20, "complete" if i % 2 else "exit") for i in range(10)]
        for run_id in ids:
            _check_failed(project, run_id, "ulimit -f")
        ended = project.wait_terminal(ids, timeout=60)
        record(
            "disk-full-submitted",
            runs=len(ids),
            failed_naming_the_limit=sum(
                1
                for info in ended.values()
                if info.status is RunStatus.FAILED and "ulimit -f" in (info.error or "")
            ),
            exit_codes=sorted({info.exit_code for info in ended.values()}),
        )
    finally:
        project.close()
