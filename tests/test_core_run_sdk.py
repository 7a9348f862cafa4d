"""Run's SDK-v1 surface, used as an SDK-v1 notebook or control script uses it."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from runyard.core import Environment, Experiment, Run, ScriptRunConfig, Workspace
from runyard.errors import ValidationError


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "proj", name="proj")


def test_sdk_constructor_parent_status_and_bare_tag(ws: Workspace) -> None:
    exp = Experiment(ws, "nb")
    run = exp.start_logging()
    child = run.child_run("c1")
    run.tag("DeploymentCandidate")
    child.complete()
    run.complete()
    again = Run(exp, run.id)  # the SDK's constructor form
    assert again.id == run.id and again.experiment.name == "nb"
    assert isinstance(again.get_status(), str) and again.get_status() == "Completed"
    assert again.get_tags() == {"DeploymentCandidate": ""}
    assert again.parent is None
    parent = Run(exp, child.id).parent
    assert parent is not None and parent.id == run.id
    assert [c.id for c in again.get_children()] == [child.id]


def test_download_files_prefix_and_append_prefix(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "files").start_logging()
    for name in ("outputs/a.txt", "outputs/sub/b.txt", "logs/c.txt"):
        src = tmp_path / Path(name).name
        src.write_text(name)
        run.upload_file(name, src)
    run.complete()
    full = tmp_path / "full"
    run.download_files(prefix="outputs", output_directory=full)
    assert sorted(p.relative_to(full).as_posix() for p in full.rglob("*.txt")) == [
        "outputs/a.txt",
        "outputs/sub/b.txt",
    ]
    bare = tmp_path / "bare"
    run.download_files(prefix="outputs/", output_directory=bare, append_prefix=False)
    assert (bare / "sub" / "b.txt").read_text() == "outputs/sub/b.txt"
    assert (bare / "a.txt").exists() and not (bare / "logs").exists()


def test_get_runs_by_tags_properties_and_children(ws: Workspace) -> None:
    exp = Experiment(ws, "find")
    a = exp.start_logging()
    a.set_tags({"team": "x"})
    a.add_properties({"stage": "prod"})
    kid = a.child_run()
    kid.set_tags({"team": "x"})
    kid.complete()
    a.complete()
    b = exp.start_logging()
    b.set_tags({"team": "y"})
    b.complete()
    ids = lambda runs: sorted(r.id for r in runs)  # noqa: E731
    assert ids(exp.get_runs(tags={"team": "x"})) == [a.id]
    assert ids(exp.get_runs(tags="team")) == sorted([a.id, b.id])
    assert ids(exp.get_runs(properties={"stage": "prod"})) == [a.id]
    assert ids(exp.get_runs(properties="stage")) == [a.id]
    assert ids(exp.get_runs(tags={"team": "x"}, include_children=True)) == sorted([a.id, kid.id])


def test_submitted_run_logs_snapshot_and_environment(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print('hello from train')\n")
    (src / "util.py").write_text("X = 1\n")
    env = Environment("mine")
    env.python.user_managed_dependencies = True
    env.python.interpreter_path = sys.executable
    config = ScriptRunConfig(source_directory=src, script="train.py", environment=env)
    run = Experiment(ws, "sub").submit(config)
    run.wait_for_completion(timeout=120)
    details = run.get_details_with_logs()
    assert "hello from train" in details["logFiles"]["system_logs/driver.log"]
    zipped = run.restore_snapshot(path=tmp_path)
    with zipfile.ZipFile(zipped) as archive:
        assert sorted(archive.namelist()) == ["train.py", "util.py"]
        assert archive.read("util.py") == b"X = 1\n"
    got = run.get_environment()
    assert got.name == "mine" and got.python.user_managed_dependencies
    interactive = Experiment(ws, "sub").start_logging()
    with pytest.raises(ValidationError, match="records no environment"):
        interactive.get_environment()
    interactive.complete()


CHILD_SCRIPT = """
from runyard.core import Run

run = Run.get_context()
print("workspace", run.experiment.workspace.name)
child = run.child_run("inner")
child.log("x", 1.5)
child.complete()
for kid in run.create_children(tag_key="lr", tag_values=["0.1", "0.01"]):
    kid.log("lr_seen", float(kid.get_tags()["lr"]))
    kid.complete()
print("children", [c.id for c in run.get_children()])
print("parent-of-child", child.parent.id)
"""


def test_a_submitted_script_reaches_its_workspace_and_makes_children(
    ws: Workspace, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "script.py").write_text(CHILD_SCRIPT)
    run = Experiment(ws, "kids").submit(ScriptRunConfig(source_directory=src, script="script.py"))
    run.wait_for_completion(timeout=120)
    log = run.get_driver_log()
    assert "workspace proj" in log
    child, *swept = run.get_children()
    assert child.get_status() == "Completed" and child.get_metrics() == {"x": 1.5}
    assert [k.get_tags()["lr"] for k in swept] == ["0.1", "0.01"]
    assert [k.get_metrics()["lr_seen"] for k in swept] == [0.1, 0.01]
    assert f"children {[child.id] + [k.id for k in swept]}" in log
    assert f"parent-of-child {run.id}" in log


def test_create_children_from_a_notebook(ws: Workspace) -> None:
    run = Experiment(ws, "nb-kids").start_logging()
    kids = run.create_children(count=3)
    for kid in kids:
        kid.complete()
    assert [k.id for k in run.get_children()] == [k.id for k in kids]
    assert all(k.parent is not None and k.parent.id == run.id for k in kids)
    with pytest.raises(ValidationError, match="2 tag_values"):
        run.create_children(count=3, tag_key="a", tag_values=["x", "y"])
    run.complete()


def test_submit_child_from_a_notebook(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(
        "from runyard.core import Run\nRun.get_context().log('acc', 0.75)\n"
    )
    parent = Experiment(ws, "parent").start_logging()
    config = ScriptRunConfig(source_directory=src, script="train.py")
    child = parent.submit_child(config, tags={"role": "trial"})
    child.wait_for_completion(timeout=120)
    assert child.get_metrics() == {"acc": 0.75} and child.get_tags()["role"] == "trial"
    assert [c.id for c in parent.get_children()] == [child.id]
    assert child.parent is not None and child.parent.id == parent.id
    parent.complete()
