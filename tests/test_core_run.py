"""The tracking API of a run, with the tutorial SDK's semantics."""

from __future__ import annotations

import io
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runyard.core import Experiment, Run, Workspace
from runyard.entities import RunStatus
from runyard.errors import (
    ConflictError,
    MetricTypeError,
    RunNotFoundError,
    RunyardError,
    ValidationError,
)
from runyard.store.sql import engine as engine_mod


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


def test_complete_after_the_run_was_ended_elsewhere_keeps_that_end(ws: Workspace) -> None:
    # complete() writes the status without reading it first: a run another process
    # ended meanwhile (a cancel from the studio, the reaper) stays as that process left it.
    run = Experiment(ws, "ended").start_logging()
    run.log("loss", 0.5)
    other = Workspace.from_config(ws.config_path)
    other.store.set_status(run.id, RunStatus.CANCELED, error="canceled in the studio")
    other.close()
    run.complete()
    assert (run.get_status(), run.info.error) == ("Canceled", "canceled in the studio")
    assert run.get_metrics("loss") == {"loss": 0.5}  # what it logged is stored all the same


def test_an_ingest_that_failed_is_retried_without_storing_a_point_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new run's first ingest starts at offset 0 without asking the store; a retry
    # after a failed append must start from the stored offset, not from 0 again.
    monkeypatch.setattr(engine_mod, "BUSY_TIMEOUT_S", 0.2)  # a locked database fails fast
    ws = Workspace.create(tmp_path / "proj")
    run = Experiment(ws, "retry").start_logging()
    for i in range(10):
        run.log("x", i)
    run.flush()
    blocker = sqlite3.connect(ws.tracking_uri.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    for i in range(10, 20):
        run.log("x", i)
    with pytest.raises(RunyardError, match="locked"):
        run.flush()
    blocker.execute("ROLLBACK")
    blocker.close()
    run.complete()
    assert run.get_metrics("x") == {"x": list(range(20))}
    ws.close()


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


# -- one Run, composed of a sink: the same checks whatever the sink ---------------------


def submitted_run(tmp_path: Path) -> Run:
    """The run a runner's script gets, built by the same factory, on a real journal."""
    from runyard.config import RunContextEnv
    from runyard.core.context import submitted_parts
    from runyard.core.run import _from_parts

    env = RunContextEnv(
        run_id="sub-1",
        tracking_uri=f"sqlite:///{tmp_path / 'none.db'}",
        artifact_root=str(tmp_path / "artifacts"),
        journal=str(tmp_path / "journal" / "journal.bin"),
        token=None,
        studio_url=None,
    )
    return _from_parts(submitted_parts(env))


def offline_run() -> Run:
    from runyard.core.context import offline_parts
    from runyard.core.run import _from_parts

    return _from_parts(offline_parts())


BAD_CALLS: list[tuple[str, Any]] = [
    ("name-empty", lambda r: r.log("", 1.0)),
    ("name-type", lambda r: r.log(3, 1.0)),
    ("name-long", lambda r: r.log("m" * 300, 1.0)),
    ("name-nul", lambda r: r.log("a\x00b", 1.0)),
    ("value-list", lambda r: r.log("loss", [1, 2])),
    ("value-none", lambda r: r.log("loss", None)),
    ("value-str-long", lambda r: r.log("note", "x" * 10_000)),
    ("value-surrogate", lambda r: r.log("note", "bad \udcff")),
    ("step-float", lambda r: r.log("a", 1.0, step=1.5)),
    ("step-str", lambda r: r.log("a", 1.0, step="1")),
    ("step-huge", lambda r: r.log("a", 1.0, step=2**63)),
    ("list-str", lambda r: r.log_list("l", "abc")),
    ("list-nested", lambda r: r.log_list("l", [[1, 2]])),
    ("row-empty", lambda r: r.log_row("r")),
    ("table-uneven", lambda r: r.log_table("t", {"a": [1], "b": [1, 2]})),
    ("image-both", lambda r: r.log_image("i", path="a.png", plot=object())),
    ("image-missing", lambda r: r.log_image("i", path="/nonexistent/a.png")),
    ("image-name", lambda r: r.log_image("", plot=object())),
    ("tag-empty", lambda r: r.tag("", "v")),
    ("tag-huge", lambda r: r.tag("k", "v" * 6000)),
    ("tag-nul", lambda r: r.tag("k", "a\x00b")),
    ("tags-list", lambda r: r.set_tags([("a", "b")])),
    ("property-surrogate", lambda r: r.add_properties({"p": "\udcff"})),
    ("upload-escape", lambda r: r.upload_file("../x.txt", io.BytesIO(b"x"))),
    ("upload-missing", lambda r: r.upload_file("outputs/x", "/nonexistent/x")),
    ("folder-missing", lambda r: r.upload_folder("f", "/nonexistent")),
]


def refusal(run: Run, call: Any) -> tuple[str, str]:
    try:
        call(run)
    except RunyardError as exc:
        return type(exc).__name__, str(exc)
    return "accepted", ""


@pytest.mark.parametrize(("what", "call"), BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_every_sink_refuses_the_same_input_with_the_same_message(
    ws: Workspace, tmp_path: Path, what: str, call: Any
) -> None:
    interactive = Experiment(ws, "same").start_logging()
    runs = {"offline": offline_run(), "submitted": submitted_run(tmp_path), "live": interactive}
    seen = {kind: refusal(run, call) for kind, run in runs.items()}
    interactive.complete()
    assert seen["offline"][0] != "accepted", seen
    assert seen["offline"] == seen["submitted"] == seen["live"], seen


def test_a_refused_call_does_not_spoil_later_ones(ws: Workspace, tmp_path: Path) -> None:
    interactive = Experiment(ws, "after").start_logging()
    for run in (offline_run(), submitted_run(tmp_path), interactive):
        bad_calls: list[Callable[[Any], object]] = [
            lambda r: r.log("loss", 1.0, step="x"),
            lambda r: r.log("loss", 1.0, step=2**64),
            lambda r: r.log("loss", object()),
            lambda r: r.log_list("loss_list", [object()]),
            lambda r: r.tag("k", "\udcff"),
        ]
        for bad in bad_calls:
            with pytest.raises(RunyardError):
                bad(run)
        run.log("loss", 0.5)
        run.log("loss", 0.25)
        run.log_list("loss_list", [1, 2])
        run.tag("k", "v")
        assert run.get_metrics() == {"loss": [0.5, 0.25], "loss_list": [1, 2]}, run
    interactive.complete()
    assert interactive.get_tags() == {"k": "v"}
    assert interactive.get_metrics("loss") == {"loss": [0.5, 0.25]}


def test_offline_run_keeps_tags_and_properties(capsys: pytest.CaptureFixture[str]) -> None:
    run = offline_run()
    run.tag("model", "cnn")
    run.add_properties({"dataset": "cifar10"})
    run.add_properties({"dataset": "cifar10"})  # same value: fine, as in the store
    with pytest.raises(ConflictError, match="properties are add-only"):
        run.add_properties({"dataset": "mnist"})
    assert run.get_tags() == {"model": "cnn"}
    assert run.get_properties() == {"dataset": "cifar10"}
    run.upload_file("outputs/x.bin", io.BytesIO(b"abc"))
    assert run.get_file_names() == []  # nothing is stored
    assert run.get_details()["status"] == "Running" and run.get_portal_url() == ""
    child = run.child_run("c")
    child.log("x", 1)
    assert child.get_metrics() == {"x": 1} and run.get_metrics() == {}
    run.complete()
    run.log("after", 2.0)  # an offline run never ends: a script may log on
    err = capsys.readouterr().err
    assert "would set tags {'model': 'cnn'}" in err and "would upload outputs/x.bin" in err
    with pytest.raises(ValidationError, match="offline run"):
        run.wait_for_completion()


def test_no_subclass_of_run() -> None:
    """One Run class: the kinds of run differ in the sink they are built with. The one
    subclass is the SDK's own public one (``HyperDriveRun`` is a ``Run`` in SDK v1, so
    ``isinstance`` checks in users' scripts hold); it adds sweep reads and goes through
    ``Run.__init__``, never around it."""
    import ast

    src = Path(__file__).resolve().parents[1] / "src" / "runyard"
    subclasses = []
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                if "Run" in bases:
                    subclasses.append(f"{path.relative_to(src)}: {node.name}")
                    inits = [
                        f
                        for f in node.body
                        if isinstance(f, ast.FunctionDef) and f.name == "__init__"
                    ]
                    assert all("super().__init__(" in ast.unparse(f) for f in inits), node.name
    assert subclasses == ["train/hyperdrive/run.py: HyperDriveRun"]


SUBMITTED_LEAN = textwrap.dedent(
    """
    import io, json, sys
    from runyard.core import Run
    run = Run.get_context()
    run.log("loss", 0.5)
    run.log_row("row", epoch=1, acc=0.5)
    run.tag("phase", "train")
    run.remove_tags(["phase"])
    run.add_properties({"p": "1"})
    run.upload_file("outputs/a.txt", io.BytesIO(b"a"))
    print(json.dumps(run.get_metrics()))
    run.complete()
    heavy = sorted(m for m in ("sqlalchemy", "numpy", "runyard.store.sql") if m in sys.modules)
    print(json.dumps(heavy))
    """
)


def test_a_submitted_script_writes_without_the_sql_stack(tmp_path: Path) -> None:
    """A curated environment may have no SQLAlchemy or numpy: writing must not need them."""
    from runyard import config

    script = tmp_path / "lean.py"
    script.write_text(SUBMITTED_LEAN)
    env = {
        **os.environ,
        config.ENV_RUN_ID: "lean-1",
        config.ENV_TRACKING_URI: f"sqlite:///{tmp_path / 'never.db'}",
        config.ENV_ARTIFACT_ROOT: str(tmp_path / "artifacts"),
        config.ENV_JOURNAL: str(tmp_path / "run" / "journal.bin"),
    }
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == '{"loss": 0.5, "row": {"epoch": [1], "acc": [0.5]}}'
    assert out[1] == "[]"
    assert not (tmp_path / "never.db").exists()
    assert len(list((tmp_path / "run" / "uploads").iterdir())) == 1


def test_starting_to_log_does_not_wait_for_numpy() -> None:
    """start_logging() builds the run's ingest without importing numpy (~100 ms here):
    decoding, the first thing that needs it, comes at the ingest's first pass."""
    code = (
        "import sys, runyard.tracking.ingest, runyard.tracking.sinks\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'numpy')[:1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_offline_child_logs_while_only_its_log_is_held() -> None:
    log = offline_run().child_run("c").log  # the handle itself is dropped at once
    import gc

    gc.collect()
    log("x", 1.0)


def test_get_context_without_runyard_and_allow_offline_false(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RUNYARD_RUN_ID", raising=False)
    import runyard.core.run as run_module

    monkeypatch.setattr(run_module, "_context", None)
    with pytest.raises(ValidationError, match="allow_offline=False"):
        Run.get_context(allow_offline=False)
    assert Run.get_context().id == "OfflineRun"
    assert Run.get_context() is Run.get_context()
