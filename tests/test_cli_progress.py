"""Progress on long work: `submit --wait` and `runs logs -f` show each status change
and a one-line build summary while the run's environment is built (on stderr), then
the run's output (on stdout)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from runyard.core import Experiment, Workspace
from tests.support.terminal import run_on_a_terminal


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


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    """Runs argv with a pseudo-terminal as stdout and stderr; returns what it showed."""
    code, seen = run_on_a_terminal(argv, env=env)
    assert code == 0, seen.decode("utf-8", "replace")
    return seen.decode("utf-8", "replace")


@pytest.mark.slow
def test_env_build_shows_one_summary_line_not_the_raw_log(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    (tmp_path / "tools.txt").write_text("pathspec\nfilelock\n")
    cache = tmp_path / "cache"
    env = {**os.environ, "RUNYARD_CACHE_DIR": str(cache), "COLUMNS": "200"}
    argv = [sys.executable, "-m", "runyard.cli", "env", "build", str(tmp_path / "tools.txt"),
            "-w", str(ws.root)]  # fmt: skip
    tmp_root = Path(tempfile.gettempdir())
    before = set(tmp_root.glob("runyard-build-*"))
    shown = _on_a_terminal(argv, env)
    assert set(tmp_root.glob("runyard-build-*")) <= before  # no temp folder left behind
    assert "building tools: " in shown
    assert "built tools (2 packages) in " in shown
    assert "uv pip install" not in shown and ".tmp-" not in shown  # the raw log stays in the file
    log = next((cache / "logs").glob("*.log"))
    assert "uv pip install" in log.read_text() and f"build log: {log}" in shown
    again = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert again.returncode == 0 and "environment tools is built already" in again.stderr


def test_runs_download_shows_a_bar_on_a_terminal_only(tmp_path: Path) -> None:
    """On a terminal, `runs download` draws a bar of files and bytes on stderr; piped,
    it prints the paths alone."""
    ws = Workspace.create(tmp_path / "proj", name="proj")
    run = Experiment(ws, "dl").start_logging()
    for i in range(3):
        run.upload_file(f"outputs/f{i}.bin", io.BytesIO(os.urandom(200_000)))
    run.complete()
    args = [sys.executable, "-m", "runyard.cli", "-w", str(tmp_path / "proj"), "runs"]
    args += ["download", run.id, "-o", str(tmp_path / "out")]
    piped = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    assert "downloading" not in piped.stderr and piped.stdout.count("outputs/f") == 3

    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    code, seen = run_on_a_terminal(args, env=env, timeout=60)
    assert code == 0
    assert b"downloading 3 files" in seen
    assert all(
        (tmp_path / "out" / "outputs" / f"f{i}.bin").stat().st_size == 200_000 for i in range(3)
    )
