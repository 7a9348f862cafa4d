"""Soft delete with undo: runs (with their descendants) and experiments leave the lists
and come back exactly, through the SQL stores (SQLite and PostgreSQL), the CLI, the SDK's
``archive``/``reactivate`` and MLflow's delete/restore (the HTTP store runs the same
checks in tests/test_store_http.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from runyard.cli import cli
from runyard.core import Experiment, ScriptRunConfig, Workspace
from runyard.entities import RunInfo, RunKind, RunQuery, RunStatus
from runyard.errors import ConflictError, ValidationError
from runyard.store.base import Store


def _ended(store: Store, experiment: str, **kwargs: object) -> RunInfo:
    exp = store.get_or_create_experiment(experiment)
    return store.create_run(
        exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.COMPLETED, **kwargs
    )


def _ids(store: Store, **query: object) -> set[str]:
    return {r.run_id for r in store.search_runs(RunQuery(limit=1000, **query)).runs}  # type: ignore[arg-type]


def check_runs(store: Store) -> None:
    parent = _ended(store, "sd-runs")
    child = _ended(store, "sd-runs", parent_run_id=parent.run_id)
    grandchild = _ended(store, "sd-runs", parent_run_id=child.run_id)
    other = _ended(store, "sd-runs")
    tree = {parent.run_id, child.run_id, grandchild.run_id}

    deleted = store.delete_run(parent.run_id)
    assert deleted.deleted_at is not None
    assert _ids(store) >= {other.run_id} and not tree & _ids(store)
    assert _ids(store, lifecycle="deleted") >= tree
    assert store.get_run(grandchild.run_id).deleted_at == deleted.deleted_at  # one stamp
    assert store.delete_run(parent.run_id).deleted_at == deleted.deleted_at  # repeatable

    # A child deleted on its own before stays deleted when its parent is restored.
    store.restore_run(parent.run_id)
    assert tree <= _ids(store)
    store.delete_run(grandchild.run_id)
    store.delete_run(parent.run_id)
    store.restore_run(parent.run_id)
    assert {parent.run_id, child.run_id} <= _ids(store) and grandchild.run_id not in _ids(store)
    store.restore_run(grandchild.run_id)
    assert store.get_run(grandchild.run_id).deleted_at is None

    live = store.create_run(
        store.get_or_create_experiment("sd-runs").experiment_id,
        kind=RunKind.INTERACTIVE,
        status=RunStatus.RUNNING,
    )
    with pytest.raises(ConflictError, match="cancel it first"):
        store.delete_run(live.run_id)
    trial = _ended(store, "sd-runs", parent_run_id=live.run_id)
    with pytest.raises(ConflictError, match="once it has ended"):
        store.delete_run(trial.run_id)  # the live sweep still counts its trial
    assert store.get_run(trial.run_id).deleted_at is None
    with pytest.raises(ValidationError, match="lifecycle 'gone' is not one of"):
        store.search_runs(RunQuery(lifecycle="gone"))


def check_experiments(store: Store) -> None:
    run = _ended(store, "sd-exp")
    exp_id = run.experiment_id
    deleted = store.delete_experiment(exp_id)
    assert deleted.deleted_at is not None
    names = {s.experiment.name for s in store.list_experiments()}
    assert "sd-exp" not in names
    assert "sd-exp" in {s.experiment.name for s in store.list_experiments("deleted")}
    assert run.run_id not in _ids(store) and run.run_id in _ids(store, lifecycle="deleted")
    with pytest.raises(ConflictError, match="is deleted: restore it first"):
        store.create_run(exp_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    assert store.get_experiment_by_name("sd-exp").deleted_at is not None  # type: ignore[union-attr]
    store.restore_experiment(exp_id)
    assert run.run_id in _ids(store) and store.get_experiment(exp_id).deleted_at is None
    live = store.create_run(exp_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    with pytest.raises(ConflictError, match="1 run\\(s\\) not ended"):
        store.delete_experiment(exp_id)
    store.set_status(live.run_id, RunStatus.COMPLETED)


def test_sql_store(store: Store) -> None:
    check_runs(store)
    check_experiments(store)


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    run = Experiment(ws, "cli-sd").start_logging()
    run.complete()
    w = str(tmp_path / "proj")
    assert "undo: runyard runs restore" in _invoke("-w", w, "runs", "delete", run.id)
    assert run.id not in _invoke("-w", w, "runs", "list")
    assert run.id in _invoke("-w", w, "runs", "list", "--deleted")
    _invoke("-w", w, "runs", "restore", run.id)
    assert run.id in _invoke("-w", w, "runs", "list")
    _invoke("-w", w, "experiments", "delete", "cli-sd")
    assert "cli-sd" not in _invoke("-w", w, "experiments", "list")
    assert "cli-sd" in _invoke("-w", w, "experiments", "list", "--deleted")
    _invoke("-w", w, "experiments", "restore", "cli-sd")
    assert "cli-sd" in _invoke("-w", w, "experiments", "list")

    live = Experiment(ws, "cli-sd").start_logging()
    proc = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "-w", w, "runs", "delete", live.id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "cancel it first" in proc.stderr
    assert "Traceback" not in proc.stderr
    live.complete()


def test_sdk_archive_and_reactivate(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    exp = Experiment(ws, "to-archive")
    run = exp.start_logging()
    run.complete()
    assert exp.archived_time is None
    exp.archive()
    assert exp.archived_time is not None and exp.archived_time.endswith("+00:00")
    assert [e.name for e in Experiment.list(ws)] == []
    assert [e.name for e in Experiment.list(ws, view_type="ArchivedOnly")] == ["to-archive"]
    assert [e.name for e in Experiment.list(ws, experiment_name="to-archive", view_type="All")] == [
        "to-archive"
    ]
    assert [r.id for r in exp.get_runs()] == [run.id]  # an archived experiment's runs read
    source = tmp_path / "src"
    source.mkdir()
    (source / "t.py").write_text("print('hi')\n")
    with pytest.raises(ConflictError, match=r"reactivate\(\)"):
        exp.submit(ScriptRunConfig(str(source), "t.py"))
    with pytest.raises(ValidationError, match="view_type 'Gone'"):
        Experiment.list(ws, view_type="Gone")
    Experiment(ws, "taken")
    with pytest.raises(ConflictError, match="'taken' exists already"):
        exp.reactivate(new_name="taken")
    assert exp.archived_time is not None and exp.name == "to-archive"  # nothing changed
    with pytest.raises(ValidationError):
        exp.reactivate(new_name="")
    exp.reactivate(new_name="archived-once")  # the SDK's rename on reactivation
    assert exp.name == "archived-once" and exp.archived_time is None
    assert sorted(e.name for e in Experiment.list(ws)) == ["archived-once", "taken"]
    assert [r.id for r in Experiment(ws, "archived-once").get_runs()] == [run.id]


def test_mlflow_delete_and_restore(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    ws = Workspace.create(tmp_path / "proj", name="proj")
    mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())
    try:
        client = mlflow.MlflowClient()
        exp_id = client.create_experiment("ml-sd")
        run = client.create_run(exp_id)
        client.set_terminated(run.info.run_id)
        client.delete_run(run.info.run_id)
        assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
        assert client.search_runs([exp_id]) == []
        deleted = client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)
        assert [r.info.run_id for r in deleted] == [run.info.run_id]
        client.restore_run(run.info.run_id)
        assert [r.info.run_id for r in client.search_runs([exp_id])] == [run.info.run_id]
        client.delete_experiment(exp_id)
        assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
        with pytest.raises(MlflowException, match="deleted"):
            mlflow.set_experiment("ml-sd")
        client.restore_experiment(exp_id)
        assert mlflow.set_experiment("ml-sd").experiment_id == exp_id
    finally:
        mlflow.set_tracking_uri(None)
        ws.close()
