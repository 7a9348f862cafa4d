"""The tracking API of a run, with the tutorial SDK's semantics."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runyard.core import Experiment, Run, Workspace
from runyard.errors import ConflictError, MetricTypeError, RunNotFoundError, ValidationError


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "proj", name="proj")


def test_interactive_run_logs_and_reads_back(ws: Workspace) -> None:
    run = Experiment(ws, "nb").start_logging(display_name="first")
    for i in range(1000):
        run.log("loss", 1.0 / (i + 1))
    run.log("epochs", 3)
    run.log("done", True)
    run.log("phase", "warmup")
    run.log("nan", float("nan"))
    run.log("inf", float("inf"))
    run.log_list("accs", [0.1, 0.2, 0.3])
    run.log_row("by_epoch", epoch=1, acc=0.5)
    run.log_row("by_epoch", epoch=2, acc=0.7)
    run.log_table("tbl", {"x": [1, 2], "y": [3, 4]})
    metrics = run.get_metrics()  # before complete(): flushes what was logged
    assert len(metrics["loss"]) == 1000 and metrics["loss"][0] == 1.0
    assert metrics["epochs"] == 3 and isinstance(metrics["epochs"], int)
    assert metrics["done"] is True
    assert metrics["phase"] == "warmup"
    assert math.isnan(metrics["nan"]) and metrics["inf"] == math.inf
    assert metrics["accs"] == [0.1, 0.2, 0.3]
    assert metrics["by_epoch"] == {"epoch": [1, 2], "acc": [0.5, 0.7]}
    assert metrics["tbl"] == {"x": [1, 2], "y": [3, 4]}
    run.complete()
    assert run.get_status() == "Completed"
    details = run.get_details()
    assert details["status"] == "Completed" and details["startTimeUtc"] and details["endTimeUtc"]
    assert run.get_metrics("epochs") == {"epochs": 3}


def test_tags_properties_and_files(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "meta").start_logging()
    run.tag("model", "cnn")
    run.set_tags({"lr": 0.01})
    assert run.get_tags() == {"model": "cnn", "lr": "0.01"}
    run.add_properties({"dataset": "cifar10"})
    run.add_properties({"dataset": "cifar10"})  # same value: fine
    with pytest.raises(ConflictError):
        run.add_properties({"dataset": "mnist"})
    assert run.get_properties() == {"dataset": "cifar10"}
    src = tmp_path / "weights.bin"
    src.write_bytes(b"\x00\x01")
    run.upload_file("outputs/weights.bin", src)
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("a")
    run.upload_folder("plots", folder)
    assert run.get_file_names() == ["outputs/weights.bin", "plots/sub/a.txt"]
    out = run.download_file("outputs/weights.bin", tmp_path / "dl.bin")
    assert out.read_bytes() == b"\x00\x01"
    with pytest.raises(ValidationError, match="inside the run"):
        run.upload_file("../escape.txt", src)
    run.complete()


def test_log_image_from_file_and_figure(ws: Workspace, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = Experiment(ws, "img").start_logging()
    fig = plt.figure()
    plt.plot([1, 2, 3])
    run.log_image("curve", plot=fig)
    png = tmp_path / "x.png"
    fig.savefig(png)
    plt.close(fig)
    run.log_image("file", path=png)
    metrics = run.get_metrics()
    assert metrics["curve"] == "images/curve.png"
    assert "images/file.png" in run.get_file_names()
    with pytest.raises(ValidationError, match="exactly one"):
        run.log_image("bad")
    run.complete()


def test_bad_values_name_the_metric(ws: Workspace) -> None:
    run = Experiment(ws, "bad").start_logging()
    with pytest.raises(MetricTypeError, match="'loss'"):
        run.log("loss", [1, 2])
    with pytest.raises(MetricTypeError, match="'loss'"):
        run.log("loss", {"a": 1})
    with pytest.raises(ValidationError, match="limit is 255"):
        run.log("x" * 10_000, 1.0)
    run.log("<b>html</b>", 1.0)
    run.complete()
    assert run.get_metrics() == {"<b>html</b>": 1.0}


def test_children(ws: Workspace) -> None:
    parent = Experiment(ws, "hp").start_logging()
    for lr in (0.1, 0.01):
        child = parent.child_run(name=f"lr={lr}")
        child.log("loss", lr * 2)
        child.complete()
    kids = list(parent.get_children())
    assert sorted(k.display_name for k in kids) == ["lr=0.01", "lr=0.1"]
    assert all(k.get_status() == "Completed" for k in kids)
    parent.complete()
    runs = list(Experiment(ws, "hp").get_runs())
    assert [r.id for r in runs] == [parent.id]


def test_get_unknown_run(ws: Workspace) -> None:
    with pytest.raises(RunNotFoundError):
        Run.get(ws, "nope")


def test_context_manager_marks_failed_on_error(ws: Workspace) -> None:
    with pytest.raises(RuntimeError), Experiment(ws, "ctx").start_logging() as run:
        run.log("x", 1)
        raise RuntimeError("boom")
    assert run.get_status() == "Failed"
    assert "boom" in (run.info.error or "")


def test_offline_run_prints_and_succeeds(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNYARD_RUN_ID", raising=False)
    import runyard.core.run as run_module

    monkeypatch.setattr(run_module, "_context", None)
    run = Run.get_context()
    run.log("loss", 0.5)
    run.tag("a", "b")
    assert run.get_metrics() == {"loss": 0.5}
    assert "loss=0.5" in capsys.readouterr().err
    with pytest.raises(MetricTypeError):
        run.log("loss", object())


INTERACTIVE_KILL = textwrap.dedent(
    """
    import os, sys
    from runyard.core import Workspace, Experiment
    ws = Workspace.from_config(sys.argv[1])
    run = Experiment(ws, "killed").start_logging()
    print(run.id, flush=True)
    i = 0
    while True:
        run.log("x", float(i))
        i += 1
        if i % 5000 == 0:
            open(sys.argv[2] + ".tmp", "w").write(str(i))
            os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    """
)


def test_sigkilled_interactive_process_loses_nothing(ws: Workspace, tmp_path: Path) -> None:
    script = tmp_path / "interactive.py"
    script.write_text(INTERACTIVE_KILL)
    progress = tmp_path / "progress"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ws.root), str(progress)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if progress.exists() and progress.read_text() and int(progress.read_text()) >= 50_000:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    counted = int(progress.read_text())
    # Opening the workspace again finishes the dead run: journal ingested, Failed.
    again = Workspace.from_config(ws.root)
    run = Run.get(again, run_id)
    assert run.get_status() == "Failed"
    assert "died" in (run.info.error or "")
    values = run.get_metrics("x")["x"]
    assert len(values) >= counted
    assert values == [float(i) for i in range(len(values))]
