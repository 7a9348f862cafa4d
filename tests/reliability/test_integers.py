"""Integer edge cases (issue 13 item 5): the largest int64 reads back exactly through
every read path, and a refused step never poisons the calls after it, for interactive,
offline and submitted runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import numpy as np
import pytest

from runyard.core import Experiment, Run, ScriptRunConfig, Workspace
from runyard.errors import ValidationError
from runyard.server import create_app
from tests.support.server import start_server

BIG = 2**63 - 1
CLI = (sys.executable, "-m", "runyard.cli")
TOKEN = "integers-token-0123456789"


def test_the_largest_int64_reads_back_exactly_everywhere(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    run = Experiment(ws, "ints").start_logging()
    run.log("m", BIG)
    run.complete()
    assert run.get_metrics()["m"] == BIG
    assert list(ws.store.get_metric_series(run.id, "m").values) == [BIG]
    server = start_server(create_app(ws.store, token=TOKEN))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            series = client.get(f"/api/runs/{run.id}/metrics/m").json()
            summaries = client.get(f"/api/runs/{run.id}/metrics").text
    finally:
        server.stop()
    assert series["values"] == [BIG], series
    assert str(BIG) in summaries and "-9223372036854775808" not in summaries
    done = subprocess.run(
        [*CLI, "-w", str(tmp_path / "ws"), "runs", "metrics", run.id, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert str(BIG) in done.stdout and "-9223372036854775808" not in done.stdout, done.stdout
    ws.close()


def refused_then_plain(run: Run) -> None:
    with pytest.raises(ValidationError, match="does not fit in 64 bits"):
        run.log("a", 1.0, step=np.uint64(2**63))  # type: ignore[arg-type]
    run.log("a", 2.0)
    run.log("b", 3.0)
    assert run.get_metrics() == {"a": 2.0, "b": 3.0}


def test_a_refused_step_does_not_poison_interactive_runs(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    run = Experiment(ws, "ints").start_logging()
    refused_then_plain(run)
    run.complete()
    ws.close()


def test_a_refused_step_does_not_poison_offline_runs() -> None:
    run = Run.get_context()  # no workspace, no submitted run: an offline run
    refused_then_plain(run)


def test_a_refused_step_does_not_poison_submitted_runs(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(
        textwrap.dedent("""
        import numpy as np
        from runyard.core import Run
        run = Run.get_context()
        try:
            run.log("a", 1.0, step=np.uint64(2**63))
        except Exception as exc:
            assert type(exc).__name__ == "ValidationError", repr(exc)
        else:
            raise SystemExit("accepted")
        run.log("a", 2.0)
        run.log("b", 3.0)
        run.log("m", 2**63 - 1)
    """)
    )
    run = Experiment(ws, "ints").submit(
        ScriptRunConfig(source_directory=str(src), script="train.py")
    )
    run.wait_for_completion(timeout=300)
    assert run.get_status() == "Completed", json.dumps(run.get_details(), default=str)[:2000]
    assert run.get_metrics() == {"a": 2.0, "b": 3.0, "m": BIG}
    ws.close()
