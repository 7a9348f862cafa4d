"""Progress on long work: `submit --wait` and `runs logs -f` show each status change
and a one-line build summary while the run's environment is built (on stderr), then
the run's output (on stdout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runyard.core import Workspace


def runyard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runyard.cli", *args],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


@pytest.mark.slow
def test_submit_wait_and_logs_follow_show_status_and_build_progress(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.py").write_text("import pathspec\nprint('hello from the env')\n")
    (tmp_path / "req.txt").write_text("pathspec\n")
    env = {**os.environ, "RUNYARD_CACHE_DIR": str(tmp_path / "cache")}
    w = str(ws.root)
    proc = runyard("submit", "hello.py", "-w", w, "-e", "progress", "--source-dir", str(src),
                   "--environment", str(tmp_path / "req.txt"), "--wait", env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_id = proc.stdout.split("Submitted ", 1)[1].split(":", 1)[0]
    assert f"{run_id}: Preparing" in proc.stderr
    assert "building req: " in proc.stderr
    assert "built req (1 package) in " in proc.stderr
    assert "hello from the env" in proc.stdout and "Status: Completed" in proc.stdout
    assert "building" not in proc.stdout  # progress never mixes into the output
    followed = runyard("runs", "logs", run_id, "-f", "-w", w, env=env)
    assert followed.returncode == 0
    assert f"{run_id}: Completed" in followed.stderr
    assert "hello from the env" in followed.stdout
    as_json = runyard("runs", "logs", run_id, "-f", "--json", "-w", w, env=env)
    data = json.loads(as_json.stdout)
    assert data["run"]["id"] == run_id and data["run"]["environment"] == "req"
    assert "hello from the env" in data["log"]


def test_submit_json_wait_prints_only_the_run_on_stdout(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    src = tmp_path / "src"
    src.mkdir()
    (src / "hi.py").write_text("print('hi there')\n")
    proc = runyard("submit", "hi.py", "-w", str(ws.root), "-e", "j", "--source-dir", str(src),
                   "--wait", "--json", env=dict(os.environ))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    assert run["status"] == "Completed" and run["environment"] is None
    assert "hi there" in proc.stderr and "Submitted" in proc.stderr
