"""What the CLI prints: -w on every command, --json in one shape per noun, rounded
and coloured tables, a column chooser, shell completion and the studio's banner."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from runyard.cli import cli
from runyard.cli.common import walk_commands
from runyard.cli.output import fmt_number, status_text
from runyard.cli.progress import BuildProgress, build_line
from runyard.core import Experiment, Workspace
from runyard.entities import RunStatus

# `studio` serves until stopped: its output is the banner, not data.
PRINTS_NO_DATA = {"studio"}


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    exp = Experiment(ws, "out")
    for i in range(3):
        run = exp.start_logging(display_name=f"r{i}")
        run.log("loss", 1 / 3 + i)
        run.tag("team", f"t{i}")
        run.complete()
    return ws


def leaves() -> list[tuple[str, click.Command]]:
    return [(n, c) for n, c in walk_commands(cli, "runyard") if not isinstance(c, click.Group)]


def test_every_command_takes_w_and_every_printing_one_takes_json() -> None:
    for name, cmd in walk_commands(cli, "runyard"):
        assert any(p.name == "workspace" for p in cmd.params), f"{name} has no -w"
    for name, cmd in leaves():
        if name.split()[-1] not in PRINTS_NO_DATA:
            assert any(p.name == "as_json" for p in cmd.params), f"{name} has no --json"


def test_w_after_the_command_name(ws: Workspace, tmp_path: Path) -> None:
    """`runyard runs list -w DIR` (was "No such option"), from another folder."""
    proc = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "runs", "list", "-w", str(ws.root), "--json"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total"] == 3


def test_a_run_is_the_same_object_everywhere_and_lists_share_one_shape(ws: Workspace) -> None:
    w = str(ws.root)
    listed = json.loads(invoke("runs", "list", "-w", w, "--json"))
    assert set(listed) == {"total", "runs"}
    run_id = listed["runs"][0]["id"]
    shown = json.loads(invoke("runs", "show", run_id, "-w", w, "--json"))
    assert set(shown) == set(listed["runs"][0])
    assert shown["tags"] == {"team": "t2"} and shown["metrics"]["loss"]["count"] == 1
    canceled = json.loads(invoke("runs", "cancel", run_id, "-w", w, "--json"))
    assert set(canceled) == set(shown)
    for args, noun in [
        (["experiments", "list"], "experiments"),
        (["compute", "list"], "compute_targets"),
        (["env", "list"], "environments"),
        (["runs", "metrics", run_id], "metrics"),
    ]:
        data = json.loads(invoke(*args, "-w", w, "--json"))
        assert data["total"] == len(data[noun]), args


def test_tables_round_numbers_and_choose_columns(ws: Workspace) -> None:
    out = invoke("runs", "list", "-w", str(ws.root), "--columns", "name,tags,metric:loss",
                 "--sort", "metric:loss")  # fmt: skip
    lines = out.splitlines()
    assert lines[0].split("\t") == ["name", "tags", "loss"]
    # lowest loss first, 4 significant digits
    assert lines[1].split("\t") == ["r0", "team=t0", "0.3333"]
    assert lines[3].split("\t") == ["r2", "team=t2", "2.333"]
    desc = invoke("runs", "list", "-w", str(ws.root), "--columns", "name",
                  "--sort", "metric:loss", "--desc")  # fmt: skip
    assert desc.splitlines()[1:] == ["r2", "r1", "r0"]
    newest = invoke("runs", "list", "-w", str(ws.root), "--columns", "name")
    assert newest.splitlines()[1:] == ["r2", "r1", "r0"]
    shown = invoke("runs", "show", "-w", str(ws.root), json.loads(
        invoke("runs", "list", "-w", str(ws.root), "--json"))["runs"][0]["id"])  # fmt: skip
    assert "loss: last 2.333" in shown and "None" not in shown and "{" not in shown
    assert fmt_number(1 / 3) == "0.3333" and fmt_number(12345.678) == "1.235e+04"
    assert fmt_number(7) == "7" and fmt_number(True) == "True"


def test_statuses_are_coloured_on_a_terminal_only() -> None:
    assert status_text(RunStatus.COMPLETED, tty=True) == "\x1b[32mCompleted\x1b[0m"
    assert status_text(RunStatus.FAILED, tty=True).startswith("\x1b[31m")
    assert status_text(RunStatus.COMPLETED, tty=False) == "Completed"


def complete(ws: Workspace, words: str) -> list[str]:
    env = {**os.environ, "_RUNYARD_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "runyard.cli"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    # bash_complete prints "type,value" lines
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if "," in line]


def test_shell_completion_of_run_ids_and_experiment_names(ws: Workspace) -> None:
    w = str(ws.root)
    ids = {r["id"] for r in json.loads(invoke("runs", "list", "-w", w, "--json"))["runs"]}
    assert set(complete(ws, f"runyard -w {w} runs show ")) == ids
    assert set(complete(ws, f"runyard runs logs -w {w} out_")) == ids
    assert complete(ws, f"runyard -w {w} runs list --experiment o") == ["out"]
    assert complete(ws, f"runyard -w {w} runs list --experiment x") == []


def test_build_progress_reads_uv_lines() -> None:
    progress = BuildProgress()
    progress.feed(b"[runyard 10:00:00] preparing Runyard-Minimal\nResolved 17 pack")
    assert progress.packages == 0
    progress.feed(b"ages in 1.2s\n + numpy==2.0\n")
    assert progress.packages == 17
    assert build_line("Runyard-PyTorch-CPU", progress, 12.2) == (
        "building Runyard-PyTorch-CPU: downloading 17 packages, 12 s"
    )
    plain = BuildProgress()
    plain.feed(b" + a==1\n + b==2\n")
    assert plain.packages == 2
    steps = BuildProgress()
    seen = []
    for line in (
        "[runyard 10:00:00] $ /bin/uv venv --relocatable /tmp/b/venv",
        "[runyard 10:00:01] $ /bin/uv pip install --python /tmp/b/venv/bin/python -r r.txt",
        "Resolved 17 packages in 1.2s",
        "Prepared 3 packages in 4.0s",
        "Installed 17 packages in 2.1s",
        "[runyard 10:00:09] $ /tmp/b/venv/bin/python -m compileall -q -j 0 /tmp/b/venv/lib",
        "[runyard 10:00:20] $ /bin/uv pip freeze --python /tmp/b/venv/bin/python",
    ):
        steps.feed(f"{line}\n".encode())
        seen.append(build_line("Env", steps, 5))
    assert seen == [
        "building Env: creating the venv, 5 s",
        "building Env: resolving, 5 s",
        "building Env: downloading 17 packages, 5 s",
        "building Env: installing 3 packages, 5 s",
        "building Env: installed 17 packages, 5 s",
        "building Env: compiling bytecode, 5 s",
        "building Env: locking versions, 5 s",
    ]
    assert steps.packages == 17
    cached = BuildProgress()
    cached.feed(b"[runyard 10:00:00] Runyard-Minimal (abc) is built already: /x\n")
    assert build_line("Runyard-Minimal", cached, 0) == (
        "environment Runyard-Minimal is built already"
    )


def _studio(ws: Workspace, log: Path, port: int) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "runyard.cli", "studio", "-w", str(ws.root),
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip


def test_studio_on_a_busy_port_says_so_and_suggests_port_0(ws: Workspace, tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        proc = _studio(ws, tmp_path / "busy.log", port)
        assert proc.wait(60) == 1
    text = (tmp_path / "busy.log").read_text()
    assert f"port {port} on 127.0.0.1 is in use" in text and "--port 0" in text
    assert "listening" not in text and "token" not in text.split("error:")[0]


def test_studio_port_0_binds_then_prints_the_port_it_got(ws: Workspace, tmp_path: Path) -> None:
    log = tmp_path / "studio.log"
    proc = _studio(ws, log, 0)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"listening on http://127\.0\.0\.1:(\d+)/", log.read_text())):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no banner"
            time.sleep(0.05)
        port = int(found.group(1))
        assert port != 0
        # Bound before the banner: the port is taken the moment it is printed.
        with socket.socket() as probe, pytest.raises(OSError):
            probe.bind(("127.0.0.1", port))
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/experiments").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert json.loads(ws.config_path.read_text())["studio_url"] == f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()  # our own child, by its pid
        proc.wait(30)
