"""What a submitted script does through Run.get_context(): everything goes through
the journal, and the runner applies it to the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runyard.core import Experiment, ScriptRunConfig, Workspace
from runyard.errors import RunFailedError, ValidationError

SCRIPT = """
import json
from pathlib import Path
from runyard.core import Run

run = Run.get_context()
for i in range(5):
    run.log("loss", 1.0 / (i + 1))
run.log_row("table", epoch=1, acc=0.5)
run.tag("phase", "train")
run.add_properties({"dataset": "tiny"})
Path("note.txt").write_text("hello")
run.upload_file("uploads/note.txt", "note.txt")
Path("note.txt").write_text("changed after the upload")  # the upload was staged
Path("img.png").write_bytes(b"\\x89PNG fake")
run.log_image("picture", path="img.png")
print("metrics", json.dumps(run.get_metrics()))
print("url", run.get_portal_url())
"""


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "ws", name="ws")


def test_submitted_script_writes_through_the_journal(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "script.py").write_text(SCRIPT)
    run = Experiment(ws, "ctx").submit(ScriptRunConfig(source_directory=src, script="script.py"))
    details = run.wait_for_completion(timeout=120)
    assert details["status"] == "Completed"
    log = run.get_driver_log()
    seen = json.loads(log.split("metrics ", 1)[1].splitlines()[0])
    assert seen["loss"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert seen["table"] == {"epoch": [1], "acc": [0.5]}
    assert f"/runs/{run.id}" in log
    assert run.get_tags()["phase"] == "train"
    assert run.get_properties()["dataset"] == "tiny"
    assert "uploads/note.txt" in run.get_file_names()
    note = run.download_file("uploads/note.txt", tmp_path / "note.txt")
    assert note.read_text() == "hello"
    metrics = run.get_metrics()
    assert metrics["picture"] == "images/picture.png"
    assert "images/picture.png" in run.get_file_names()
    assert metrics["loss"] == seen["loss"]


def test_failures_raise_with_the_error_summary(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "bad.py").write_text("def f():\n    raise KeyError('missing column')\nf()\n")
    run = Experiment(ws, "ctx").submit(ScriptRunConfig(source_directory=src, script="bad.py"))
    with pytest.raises(RunFailedError, match="KeyError: 'missing column'") as err:
        run.wait_for_completion(timeout=120)
    assert err.value.details["status"] == "Failed"
    assert run.wait_for_completion(raise_on_error=False)["exitCode"] == 1


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"script": "missing.py"}, "was not found"),
        ({"script": "../outside.py"}, "must be inside source_directory"),
        ({"script": "ok.py", "source_directory": "/nonexistent/src"}, "is not a folder"),
    ],
)
def test_bad_submissions_are_refused_before_queueing(
    ws: Workspace, tmp_path: Path, kwargs: dict[str, str], fragment: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.py").write_text("print('ok')\n")
    config = ScriptRunConfig(**{"source_directory": str(src), **kwargs})
    with pytest.raises(ValidationError, match=fragment):
        Experiment(ws, "refused").submit(config)
    assert list(Experiment(ws, "refused").get_runs()) == []


def test_script_run_config_checks_its_arguments() -> None:
    with pytest.raises(ValidationError, match="needs script="):
        ScriptRunConfig(source_directory=".")
    with pytest.raises(ValidationError, match="must be a list"):
        ScriptRunConfig(script="a.py", arguments="--epochs 2")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="positive"):
        ScriptRunConfig(script="a.py", max_run_duration_seconds=0)
