"""What an SDK-v1 training script does to its own run from inside a submitted run:
rename it, fail, cancel or complete it, and start child runs, also in a built
environment that has no SQLAlchemy (the runner applies it all from the journal)."""

from __future__ import annotations

import sysconfig
import textwrap
import time
from pathlib import Path

import pytest

from runyard.core import Environment, Experiment, Run, ScriptRunConfig, Workspace
from runyard.errors import ValidationError


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "proj", name="proj")


def _submit(ws: Workspace, tmp_path: Path, code: str, env: Environment | None = None) -> Run:
    src = tmp_path / f"src-{time.monotonic_ns()}"
    src.mkdir()
    (src / "train.py").write_text(textwrap.dedent(code))
    config = ScriptRunConfig(source_directory=src, script="train.py", environment=env)
    run = Experiment(ws, "in-script").submit(config)
    run.wait_for_completion(timeout=300, raise_on_error=False)
    return run


def test_display_name_is_settable_from_a_notebook(ws: Workspace) -> None:
    run = Experiment(ws, "nb").start_logging()
    run.display_name = "sweet-lamp"
    assert run.display_name == "sweet-lamp" == Run.get(ws, run.id).display_name
    run.complete()
    with pytest.raises(Exception, match="display name is 1025 characters"):
        run.display_name = "x" * 1025


def test_fail_with_details_fails_a_run_whose_script_exits_0(ws: Workspace, tmp_path: Path) -> None:
    run = _submit(
        ws,
        tmp_path,
        """
        from runyard.core import Run
        run = Run.get_context()
        run.display_name = "renamed-in-script"
        run.log("a", 1)
        run.fail(error_details="bad rows in shard 3", error_code="UserError")
        print("went on after fail")
        """,
    )
    info = run.info
    assert info.status.value == "Failed", run.get_driver_log()
    assert info.error == "UserError: bad rows in shard 3" and info.exit_code == 0
    assert info.display_name == "renamed-in-script"
    assert run.get_metrics() == {"a": 1}
    assert "went on after fail" in run.get_driver_log()


def test_cancel_from_the_script_stops_it(ws: Workspace, tmp_path: Path) -> None:
    started = time.monotonic()
    run = _submit(
        ws,
        tmp_path,
        """
        import time
        from runyard.core import Run
        Run.get_context().cancel()
        time.sleep(120)
        print("never stopped")
        """,
    )
    assert run.get_status() == "Canceled", run.get_driver_log()
    assert "never stopped" not in run.get_driver_log()
    assert time.monotonic() - started < 90  # stopped, not waited out


def test_complete_then_a_crash_still_fails(ws: Workspace, tmp_path: Path) -> None:
    run = _submit(
        ws,
        tmp_path,
        """
        from runyard.core import Run
        Run.get_context().complete()
        raise RuntimeError("broke after complete")
        """,
    )
    assert run.get_status() == "Failed"
    assert "RuntimeError: broke after complete" in (run.info.error or "")
    ok = _submit(ws, tmp_path, "from runyard.core import Run\nRun.get_context().complete()\n")
    assert ok.get_status() == "Completed"


CHILDREN = """
import json, sys
from runyard.core import Run
try:
    import sqlalchemy  # noqa: F401
    print("sqlalchemy importable")
except ImportError:
    print("no sqlalchemy here")
run = Run.get_context()
child = run.child_run("inner")
child.log("x", 1.5)
child.tag("kind", "single")
child.complete()
kids = run.create_children(tag_key="lr", tag_values=["0.1", "0.01"])
for kid in kids:
    kid.log("lr_seen", float(kid.get_tags()["lr"]))
kids[0].complete()
kids[1].fail(error_details="diverged")
left_open = run.child_run("left-open")
left_open.log("y", 2)
# Reads of the store (a child's tags, the children) import SQLAlchemy, which this
# environment lacks: it comes from Runyard's own installation.
print("children", json.dumps([c.id for c in run.get_children()]))
print("metrics", json.dumps(child.get_metrics()))
print("store from", sys.modules["sqlalchemy"].__file__)
"""


@pytest.mark.usefixtures("env_cache")
def test_children_from_a_script_in_an_environment_without_sqlalchemy(
    ws: Workspace, tmp_path: Path
) -> None:
    env = Environment("lean")
    env.python.conda_dependencies.add_pip_package("six")
    run = _submit(ws, tmp_path, CHILDREN, env)
    log = run.get_driver_log()
    assert run.get_status() == "Completed", f"{run.info.error}\n{log}"
    assert "no sqlalchemy here" in log
    assert f"store from {sysconfig.get_paths()['purelib']}/sqlalchemy/" in log, log
    children = list(run.get_children())
    inner, fast, slow, left_open = children
    assert f"children {[c.id for c in children]}".replace("'", '"') in log
    assert (inner.display_name, left_open.display_name) == ("inner", "left-open")
    assert inner.get_status() == "Completed" and inner.get_metrics() == {"x": 1.5}
    assert inner.get_tags() == {"kind": "single"}
    assert 'metrics {"x": 1.5}' in log
    assert [k.get_tags()["lr"] for k in (fast, slow)] == ["0.1", "0.01"]
    assert [k.get_metrics()["lr_seen"] for k in (fast, slow)] == [0.1, 0.01]
    assert (fast.get_status(), slow.get_status()) == ("Completed", "Failed")
    assert slow.info.error == "diverged"
    # A child the script left open ends with its parent.
    assert left_open.get_status() == "Completed" and left_open.get_metrics() == {"y": 2}
    assert all(c.parent is not None and c.parent.id == run.id for c in children)
    assert run.get_metrics() == {}  # the children's metrics are theirs only


def test_a_missing_package_gets_a_hint_naming_the_environment(
    ws: Workspace, tmp_path: Path
) -> None:
    import sys

    env = Environment("my-env")
    env.python.user_managed_dependencies = True
    env.python.interpreter_path = sys.executable
    run = _submit(ws, tmp_path, "import tensorflowish.keras\n", env)
    error = run.info.error or ""
    assert run.get_status() == "Failed"
    assert "ModuleNotFoundError: No module named 'tensorflowish'" in error
    hint = error.splitlines()[-1]
    assert hint.startswith("hint: 'tensorflowish' is not installed in environment 'my-env'")
    assert "add_pip_package('tensorflowish')" in hint and "requirements file" in hint
    other = _submit(ws, tmp_path, "raise ValueError('no hint for this')\n")
    assert "hint:" not in (other.info.error or "")


NODE_SCRIPT = """
from runyard.core import Run
run = Run.get_context()
experiment = run.experiment
print("experiment", experiment.name, experiment.workspace.name)
print("listed", run.id in [r.id for r in experiment.get_runs()])
"""


def test_the_workspace_of_a_run_without_a_config_is_the_studios(tmp_path: Path) -> None:
    """A run on a Ray node has no workspace config, only the studio's URL and token
    (what runner/remote.py gives its script): its workspace is the studio's HTTP store.
    Here the script gets exactly that environment, against a real server."""
    import os
    import subprocess
    import sys

    from runyard import config
    from runyard.entities import RunKind, RunStatus
    from runyard.server import create_app
    from tests.support.server import open_test_store, start_server

    store = open_test_store(tmp_path / "studio")
    server = start_server(create_app(store, token="node-token"))
    try:
        exp = store.get_or_create_experiment("on-node")
        info = store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING)
        (tmp_path / "node.py").write_text(NODE_SCRIPT)
        env = {k: v for k, v in os.environ.items() if k != config.ENV_WORKSPACE}
        env.update(
            {
                config.ENV_RUN_ID: info.run_id,
                config.ENV_TRACKING_URI: server.url,
                config.ENV_TOKEN: "node-token",
                config.ENV_ARTIFACT_ROOT: str(tmp_path / "node-artifacts"),
                config.ENV_JOURNAL: str(tmp_path / "node-run" / "journal.bin"),
            }
        )
        out = subprocess.run(
            [sys.executable, str(tmp_path / "node.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        host = server.url.split("://", 1)[1].rstrip("/")
        assert f"experiment on-node {host}" in out.stdout and "listed True" in out.stdout
    finally:
        server.stop()
        store.close()


INPUTS_SCRIPT = """
import os
from runyard.core import Run
run = Run.get_context()
path = run.input_datasets["digits"]
run.log("files", ",".join(sorted(os.listdir(path))))
"""


def test_script_run_config_inputs_appear_in_input_datasets(ws: Workspace, tmp_path: Path) -> None:
    from runyard.core import Dataset

    store = ws.get_default_datastore()
    data = tmp_path / "data"
    data.mkdir()
    (data / "1.bin").write_bytes(b"1")
    (data / "2.bin").write_bytes(b"22")
    store.upload(str(data), target_path="digits", show_progress=False)
    ds = Dataset.File.from_files(path=(store, "digits")).register(ws, "digits")
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(INPUTS_SCRIPT)
    config = ScriptRunConfig(
        source_directory=str(code),
        script="train.py",
        inputs=[ds.as_named_input("digits").as_mount()],
    )
    run = Experiment(ws, "inputs").submit(config)
    run.wait_for_completion(timeout=120, raise_on_error=False)
    assert run.get_status() == "Completed", run.get_driver_log()
    assert run.get_metrics()["files"] == "1.bin,2.bin"
    details = run.get_details()["inputDatasets"]
    assert details[0]["consumptionDetails"] == {"inputName": "digits", "mechanism": "mount"}


def test_remove_tags_in_a_script_from_a_notebook_and_through_a_handle(
    ws: Workspace, tmp_path: Path
) -> None:
    run = _submit(
        ws,
        tmp_path,
        """
        import json
        from runyard.core import Run
        run = Run.get_context()
        run.set_tags({"phase": "train", "keep": "1", "gone": "x"})
        run.remove_tags(["phase", "never-set"])
        print("left", json.dumps(run.get_tags(), sort_keys=True))
        run.tag("phase", "eval")  # set again after the removal: the last write wins
        run.remove_tags("gone")  # one name as a string
        """,
    )
    assert run.get_status() == "Completed", run.get_driver_log()
    assert 'left {"gone": "x", "keep": "1"}' in run.get_driver_log()
    assert run.get_tags() == {"keep": "1", "phase": "eval"}

    notebook = Experiment(ws, "nb").start_logging()
    notebook.set_tags({"a": "1", "b": "2"})
    notebook.remove_tags(["a"])
    assert notebook.get_tags() == {"b": "2"}
    notebook.complete()
    handle = Run.get(ws, notebook.id)
    handle.remove_tags(["b"])
    assert Run.get(ws, notebook.id).get_tags() == {}
    with pytest.raises(ValidationError, match="tag name '' must be a non-empty string"):
        handle.remove_tags([""])
