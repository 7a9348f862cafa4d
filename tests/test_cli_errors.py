"""Every bad argument is one clear line naming the problem and the fix, exit code 1,
no traceback, and nothing half done (no run started, no config left pointing at a
store that could not be opened)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runyard.core import Experiment, Workspace


def runyard(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runyard.cli", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd,
    )  # fmt: skip


def fails(*args: str, cwd: Path | None = None) -> str:
    proc = runyard(*args, cwd=cwd)
    assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    return proc.stderr


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    exp = Experiment(ws, "errs")
    for i in range(2):
        run = exp.start_logging()
        run.log("loss", 1.0 / (i + 1))
        run.log("accuracy", 0.5 + i / 10)
        run.complete()
    return ws


def run_count(ws: Workspace) -> int:
    return json.loads(runyard("runs", "list", "-w", str(ws.root), "--json").stdout)["total"]


def test_sort_by_an_unknown_metric_lists_the_metrics_that_exist(ws: Workspace) -> None:
    err = fails("runs", "list", "-w", str(ws.root), "--sort", "metric:acuracy")
    assert "no run listed logged a metric called 'acuracy'" in err
    assert "the metrics logged are: accuracy, loss" in err
    assert "Did you mean metric:accuracy?" in err


def test_sort_by_an_unknown_summary_names_the_allowed_ones(ws: Workspace) -> None:
    err = fails("runs", "list", "-w", str(ws.root), "--sort", "metric:accuracy:mean")
    assert "unknown summary 'mean'; the summaries are last, min, max" in err
    assert "--sort metric:accuracy:max" in err


def test_sort_by_an_unknown_column_names_the_columns(ws: Workspace) -> None:
    err = fails("runs", "list", "-w", str(ws.root), "--sort", "loss")
    assert "cannot sort runs by 'loss'" in err and "metric:NAME" in err


def test_unknown_column_and_unknown_column_metric(ws: Workspace) -> None:
    err = fails("runs", "list", "-w", str(ws.root), "--columns", "id,colour")
    assert "unknown column 'colour'" in err and "tags, params" in err
    err = fails("runs", "list", "-w", str(ws.root), "--columns", "id,metric:los")
    assert "--columns metric:los" in err and "accuracy, loss" in err


def test_missing_environment_file_says_it_does_not_exist(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print('hi')\n")
    before = run_count(ws)
    err = fails("submit", "train.py", "-w", str(ws.root), "-e", "x", "--source-dir", str(src),
                "--environment", "requirement.txt", cwd=tmp_path)  # fmt: skip
    assert f"the file {tmp_path / 'requirement.txt'} does not exist" in err
    assert "Environment.list" not in err  # no Python hint in a CLI
    assert run_count(ws) == before


def test_wrong_case_environment_suggests_the_name_and_starts_nothing(
    ws: Workspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print('hi')\n")
    before = run_count(ws)
    err = fails("submit", "train.py", "-w", str(ws.root), "-e", "x", "--source-dir", str(src),
                "--environment", "Runyard-Pytorch-CPU")  # fmt: skip
    assert "did you mean 'Runyard-PyTorch-CPU'?" in err and "case-sensitive" in err
    assert run_count(ws) == before
    err = fails("env", "show", "-w", str(ws.root), "Runyard-Pytorch-CPU")
    assert "did you mean 'Runyard-PyTorch-CPU'?" in err


def test_environment_version_must_be_a_number(ws: Workspace) -> None:
    err = fails("env", "show", "-w", str(ws.root), "Runyard-Minimal:latest")
    assert "the version must be a number, e.g. Runyard-Minimal:2" in err


def test_init_refuses_a_new_tracking_uri_without_force(ws: Workspace) -> None:
    before = ws.config_path.read_bytes()
    err = fails("init", str(ws.root), "--tracking-uri", "sqlite:///other.db")
    assert "its tracking URI is 'sqlite:///runyard.db', not 'sqlite:///other.db'" in err
    assert "--force" in err
    assert ws.config_path.read_bytes() == before
    again = runyard("init", str(ws.root))
    assert again.returncode == 0 and "unchanged" in again.stdout and " ready " not in again.stdout


def test_init_force_changes_the_tracking_uri_and_keeps_compute_targets(ws: Workspace) -> None:
    w = str(ws.root)
    assert runyard("compute", "create", "cpu-cluster", "-w", w).returncode == 0
    proc = runyard("init", w, "--tracking-uri", "sqlite:///other.db", "--force")
    assert proc.returncode == 0, proc.stderr
    config = json.loads(ws.config_path.read_text())
    assert config["tracking_uri"] == "sqlite:///other.db" and config["name"] == "proj"
    assert "cpu-cluster" in config["compute_targets"]
    assert (ws.config_path.parent / "other.db").is_file()


def test_failed_postgresql_init_leaves_no_config(tmp_path: Path) -> None:
    dead = "postgresql://u@127.0.0.1:1/db"  # nothing listens on port 1
    err = fails("init", str(tmp_path / "new"), "--tracking-uri", dead)
    assert "Connection refused" in err and "was not created" in err
    assert not (tmp_path / "new" / ".runyard").exists()


def test_failed_postgresql_init_force_keeps_the_old_config(ws: Workspace) -> None:
    before = ws.config_path.read_bytes()
    err = fails("init", str(ws.root), "--tracking-uri", "postgresql://u@127.0.0.1:1/db", "--force")
    assert "left as it was" in err and "docs/postgresql.md" in err
    assert ws.config_path.read_bytes() == before
    assert runyard("runs", "list", "-w", str(ws.root)).returncode == 0


def test_tags_are_key_equals_value_with_a_hint_for_key_colon_value(ws: Workspace) -> None:
    err = fails("runs", "list", "-w", str(ws.root), "--tag", "team:vision")
    assert "--tag 'team:vision' must look like KEY=VALUE" in err
    assert "did you mean 'team=vision'?" in err


def test_metrics_of_a_name_the_run_did_not_log(ws: Workspace) -> None:
    listed = json.loads(runyard("runs", "list", "-w", str(ws.root), "--json").stdout)
    run_id = listed["runs"][0]["id"]
    err = fails("runs", "metrics", run_id, "-w", str(ws.root), "--name", "los")
    assert "has no metric 'los'; it logged: accuracy, loss" in err


@pytest.mark.postgres
def test_init_with_a_postgresql_tracking_uri(tmp_path: Path, postgres_db_url: str) -> None:
    """docs/postgresql.md: `runyard init --tracking-uri postgresql://...` just works."""
    proc = runyard("init", str(tmp_path / "pg"), "--tracking-uri", postgres_db_url, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["trackingUri"].startswith("postgresql")
    assert runyard("runs", "list", "-w", str(tmp_path / "pg"), "--json").returncode == 0


def test_submit_tags_are_key_equals_value(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "t.py").write_text("print('t')\n")
    w = str(ws.root)
    err = fails("submit", "t.py", "-w", w, "-e", "tags", "--source-dir", str(src),
                "--tag", "team:vision")  # fmt: skip
    assert "--tag 'team:vision' must look like KEY=VALUE" in err
    ok = runyard("submit", "t.py", "-w", w, "-e", "tags", "--source-dir", str(src),
                 "--tag", "team=vision", "--json")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["tags"] == {"team": "vision"}


def test_init_takes_w_as_its_folder(tmp_path: Path) -> None:
    proc = runyard("init", "-w", str(tmp_path / "viaw"), "--name", "viaw")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "viaw" / ".runyard" / "config.json").is_file()
