"""``runyard sweeps list|show|cancel|resume`` over real sweeps."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner

from runyard.cli import cli
from runyard.core import Experiment, ScriptRunConfig, Workspace
from runyard.entities import RunQuery, RunStatus
from runyard.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    PrimaryMetricGoal,
    choice,
)

TRAIN = """
import argparse, time
from runyard.core import Run
p = argparse.ArgumentParser()
p.add_argument("--v", type=float)
p.add_argument("--sleep", type=float, default=0.0)
a = p.parse_args()
run = Run.get_context()
for i in range(3):
    run.log("loss", a.v / (i + 1))
    time.sleep(a.sleep)
"""


def invoke(*args: str, code: int = 0) -> str:
    """The output; with ``code=1``, the Runyard error the command raised (which
    ``runyard`` prints as ``error: ...``)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=code != 0)
    if code:
        return str(result.exception)
    assert result.exit_code == 0, result.output
    return result.output


def _sweep(ws: Workspace, src: Path, *args: str) -> str:
    sampling = GridParameterSampling({"--v": choice(0.5, 0.25)})
    hd = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=src, script="train.py", arguments=list(args)),
        hyperparameter_sampling=sampling,
        primary_metric_name="loss",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=1,
    )
    return Experiment(ws, "cli").submit(hd).id


def test_sweeps_commands(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws", name="ws")
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(TRAIN)
    w = str(ws.config_path)
    done = _sweep(ws, src)
    HyperDriveRun(ws.store, done, workspace=ws).wait_for_completion(timeout=120)
    shown = json.loads(invoke("sweeps", "show", done, "-w", w, "--json"))
    assert [t["hyperparameters"]["--v"] for t in shown["trials"]] == [0.25, 0.5]  # minimize
    assert shown["trials"][0]["best_primary_metric"] == 0.25 / 3
    assert shown["sweep"]["status"] == "Completed"
    text = invoke("sweeps", "show", done, "-w", w)
    assert "ended because: all 2 trials finished" in text and "minimize loss" in text
    listed = json.loads(invoke("sweeps", "list", "-w", w, "--json"))
    assert listed["total"] == 1 and listed["sweeps"][0]["trials"] == 2
    assert listed["sweeps"][0]["best_run_id"] == shown["trials"][0]["run_id"]
    assert "nothing to resume" in invoke("sweeps", "resume", done, "-w", w, code=1)
    trial = shown["trials"][0]["run_id"]
    assert "not a sweep" in invoke("sweeps", "show", trial, "-w", w, code=1)

    running = _sweep(ws, src, "--sleep", "20")
    assert "controller is running" in invoke("sweeps", "resume", running, "-w", w)
    deadline = time.monotonic() + 60
    query = RunQuery(parent_run_id=running)
    while not any(r.status is RunStatus.RUNNING for r in ws.store.search_runs(query).runs):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    out = json.loads(invoke("sweeps", "cancel", running, "--wait", "-w", w, "--json"))
    assert out["status"] == "Canceled"
    shown = json.loads(invoke("sweeps", "show", running, "-w", w, "--json"))
    assert [t["status"] for t in shown["trials"]] == ["Canceled"]
