"""The CLI: each command over the library, with errors as one clear line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from runyard.cli import cli
from runyard.core import Experiment, Workspace


def invoke(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    invoke("init", str(tmp_path / "proj"), "--name", "proj")
    ws = Workspace.from_config(tmp_path / "proj")
    exp = Experiment(ws, "cli-exp")
    for i in range(3):
        run = exp.start_logging(display_name=f"r{i}")
        for step in range(5):
            run.log("loss", (i + 1) * 1.0 / (step + 1))
        run.tag("i", str(i))
        run.complete()
    return ws


def test_every_command_has_help() -> None:
    def walk(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
        out = []
        for name, cmd in group.commands.items():
            out.append((f"{prefix} {name}", cmd))
            if isinstance(cmd, click.Group):
                out.extend(walk(cmd, f"{prefix} {name}"))
        return out

    for name, cmd in walk(cli, "runyard"):
        assert cmd.help, f"{name} has no help text"


def test_experiments_and_runs_list(ws: Workspace) -> None:
    w = str(ws.root)
    data = json.loads(invoke("-w", w, "experiments", "list", "--json"))
    assert data["total"] == 1
    assert data["experiments"][0]["name"] == "cli-exp" and data["experiments"][0]["runs"] == 3
    runs = json.loads(invoke("-w", w, "runs", "list", "--sort", "metric:loss", "--asc", "--json"))
    assert runs["total"] == 3
    lasts = [r["metrics"]["loss"]["last"] for r in runs["runs"]]
    assert lasts == sorted(lasts)
    table = invoke("-w", w, "runs", "list", "--experiment", "cli-exp", "--status", "completed")
    assert table.count("Completed") == 3


def test_runs_show_and_metrics(ws: Workspace) -> None:
    w = str(ws.root)
    run_id = json.loads(invoke("-w", w, "runs", "list", "--json"))["runs"][0]["id"]
    shown = json.loads(invoke("-w", w, "runs", "show", run_id, "--json"))
    assert shown["status"] == "Completed" and shown["metrics"]["loss"]["count"] == 5
    rows = list(csv.reader(io.StringIO(invoke("-w", w, "runs", "metrics", run_id))))
    assert rows[0] == ["metric", "step", "timestamp", "value"] and len(rows) == 6
    as_json = json.loads(invoke("-w", w, "runs", "metrics", run_id, "--format", "json"))
    assert as_json["total"] == 1 and as_json["metrics"][0]["name"] == "loss"
    assert as_json["metrics"][0]["steps"] == [0, 1, 2, 3, 4]
    assert json.loads(invoke("-w", w, "runs", "metrics", run_id, "--json")) == as_json


def test_clear_errors(ws: Workspace, tmp_path: Path) -> None:
    w = str(ws.root)
    for args, fragment in [
        (["-w", w, "runs", "show", "nope"], "nope"),
        (["-w", w, "runs", "list", "--experiment", "missing"], "no experiment named 'missing'"),
        (["-w", w, "runs", "list", "--status", "sleeping"], "unknown run status"),
        (["-w", str(tmp_path / "empty"), "runs", "list"], "no workspace found"),
        (["-w", w, "compute", "create", "bad name!", "--type", "local"], "may only contain"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "runyard.cli", *args], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert fragment in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_compute_create_and_list(ws: Workspace) -> None:
    w = str(ws.root)
    invoke(
        "-w", w, "compute", "create", "cpu-cluster", "--type", "local", "--max-concurrent-runs", "2"
    )
    targets = json.loads(invoke("-w", w, "compute", "list", "--json"))["compute_targets"]
    assert {
        "name": "cpu-cluster",
        "type": "local",
        "max_concurrent_runs": 2,
        "address": "",
    } in targets
    config = json.loads((ws.config_path).read_text())
    assert config["compute_targets"]["cpu-cluster"]["max_concurrent_runs"] == 2


def test_submit_wait_logs_and_download(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.py").write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from runyard.core import Run\n"
        "run = Run.get_context()\n"
        "for i in range(3):\n"
        "    run.log('x', i)\n"
        "print('hello', sys.argv[1:])\n"
        "Path('outputs').mkdir()\n"
        "Path('outputs/result.txt').write_text('42')\n"
    )
    w = str(ws.root)
    proc = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "-w", w, "submit", "hello.py", "--flag", "a b",
         "--experiment", "cli-submit", "--source-dir", str(src), "--wait"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hello ['--flag', 'a b']" in proc.stdout
    assert "Status: Completed" in proc.stdout
    run_id = proc.stdout.split("Submitted ", 1)[1].split(":", 1)[0]
    assert "hello" in invoke("-w", w, "runs", "logs", run_id)
    out = tmp_path / "dl"
    listed = invoke("-w", w, "runs", "download", run_id, "--path", "outputs/", "-o", str(out))
    assert (out / "outputs" / "result.txt").read_text() == "42", listed
    shown = json.loads(invoke("-w", w, "runs", "show", run_id, "--json"))
    assert shown["metrics"]["x"]["count"] == 3


def test_submit_failure_exits_nonzero(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "bad"
    src.mkdir()
    (src / "boom.py").write_text("raise ValueError('no good')\n")
    proc = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "-w", str(ws.root), "submit", "boom.py",
         "--experiment", "cli-submit", "--source-dir", str(src), "--wait"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "ValueError: no good" in proc.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "-w", str(ws.root), "submit", "boom.py",
         "--experiment", "e", "--source-dir", str(src), "--compute", "gpu-cluster"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (
        unknown.returncode == 1 and "compute target 'gpu-cluster' does not exist" in unknown.stderr
    )


def test_compute_create_ray_target(ws: Workspace) -> None:
    w = str(ws.root)
    address, server = "http://127.0.0.1:8265", "http://10.0.0.5:8765"
    invoke("-w", w, "compute", "create", "ray-cluster", "--type", "ray",
           "--address", address, "--server-url", server)  # fmt: skip
    target = json.loads(ws.config_path.read_text())["compute_targets"]["ray-cluster"]
    assert target["type"] == "ray" and target["address"] == "http://127.0.0.1:8265"
    assert target["options"] == {"server_url": "http://10.0.0.5:8765"}
    result = CliRunner().invoke(cli, ["-w", w, "compute", "create", "r2", "--type", "ray"])
    assert result.exit_code != 0 and "--address" in result.output
