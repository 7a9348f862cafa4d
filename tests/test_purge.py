"""Purging what was deleted (``Store.purge_deleted``, ``runyard gc``): deleted runs and
experiments go for good, rows and files, and nothing that is not deleted is reached;
through the SQL stores (SQLite and PostgreSQL) and the CLI (the HTTP store runs
``check_purge`` in tests/test_store_http.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from runyard.cli import cli
from runyard.cli.gc import parse_age
from runyard.core import Experiment, Workspace
from runyard.entities import MetricColumns, RunInfo, RunKind, RunStatus
from runyard.errors import (
    ConflictError,
    ExperimentNotFoundError,
    RunNotFoundError,
    ValidationError,
)
from runyard.store.base import Store
from runyard.store.sql.schema import (
    metric_blocks,
    metric_summaries,
    run_datasets,
    run_properties,
    run_tags,
)
from runyard.store.sql.store import SqlStore
from tests.support.terminal import run_on_a_terminal


def _ended(store: Store, experiment: str, **kwargs: object) -> RunInfo:
    exp = store.get_or_create_experiment(experiment)
    run = store.create_run(
        exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING, **kwargs
    )
    store.set_tags(run.run_id, {"k": "v"})
    store.add_properties(run.run_id, {"p": "q"})
    store.append_metrics(
        run.run_id, [MetricColumns("loss", "float", [0, 1], [1.0, 2.0], [0.5, 0.25])]
    )
    return store.set_status(run.run_id, RunStatus.COMPLETED)


def check_purge(store: Store) -> None:
    """Named purges (safe on a store other tests share): refusals, dry runs, trees."""
    parent = _ended(store, "purge-runs")
    child = _ended(store, "purge-runs", parent_run_id=parent.run_id)
    other = _ended(store, "purge-runs")

    with pytest.raises(ConflictError, match="is not deleted; nothing was purged"):
        store.purge_deleted(run_ids=[parent.run_id])
    with pytest.raises(ValidationError, match="list of run ids"):
        store.purge_deleted(run_ids=parent.run_id)
    with pytest.raises(RunNotFoundError):
        store.purge_deleted(run_ids=["no-such-run"])

    stamp = store.delete_run(parent.run_id).deleted_at
    assert stamp is not None
    plan = store.purge_deleted(run_ids=[parent.run_id], dry_run=True)
    assert plan.dry_run and set(plan.run_ids) == {parent.run_id, child.run_id}
    assert store.get_run(child.run_id).deleted_at == stamp  # a dry run removes nothing
    with pytest.raises(ConflictError, match="was not deleted before then"):
        store.purge_deleted(run_ids=[parent.run_id], deleted_before=stamp)

    done = store.purge_deleted(run_ids=[parent.run_id], deleted_before=stamp + 1)
    assert set(done.run_ids) == {parent.run_id, child.run_id} and not done.experiment_ids
    for gone in (parent, child):
        with pytest.raises(RunNotFoundError):
            store.get_run(gone.run_id)
    assert store.get_run(other.run_id).tags == {"k": "v"}
    assert list(store.get_metric_series(other.run_id, "loss").values) == [0.5, 0.25]

    # A child restored on its own outlives its purged parent, as a top-level run.
    parent = _ended(store, "purge-runs")
    child = _ended(store, "purge-runs", parent_run_id=parent.run_id)
    store.delete_run(parent.run_id)
    store.restore_run(child.run_id)
    store.delete_run(parent.run_id)
    assert store.purge_deleted(run_ids=[parent.run_id]).run_ids == (parent.run_id,)
    kept = store.get_run(child.run_id)
    assert kept.parent_run_id is None and kept.deleted_at is None


def _rows(store: SqlStore, run_id: str) -> dict[str, int]:
    counts = {}
    with store._engine.connect() as conn:
        for table in (run_tags, run_properties, metric_summaries, metric_blocks, run_datasets):
            query = sa.select(sa.func.count()).select_from(table).where(table.c.run_id == run_id)
            counts[table.name] = int(conn.execute(query).scalar_one())
    return counts


def test_sql_store(store: SqlStore) -> None:
    check_purge(store)

    # Rows and files go together: the foreign keys cascade, the run's folder is removed.
    run = _ended(store, "purge-files")
    store.add_run_dataset(run.run_id, "input", "train", source={"path": "/data"})
    store.artifacts.put_bytes(run.run_id, "outputs/model.bin", b"x" * 5000)
    folder = store.artifacts.run_dir(run.run_id)
    assert folder.is_dir() and all(_rows(store, run.run_id).values())
    store.delete_run(run.run_id)
    done = store.purge_deleted()
    assert run.run_id in done.run_ids and done.file_bytes >= 5000
    assert not folder.exists()
    assert not any(_rows(store, run.run_id).values())

    # A deleted experiment goes with all its runs, deleted or not; an active one stays.
    gone = _ended(store, "purge-exp")
    stays = _ended(store, "purge-kept")
    store.delete_experiment(gone.experiment_id)
    assert store.purge_deleted(deleted_before=0).run_ids == ()  # deleted after time 0
    done = store.purge_deleted()
    assert done.experiment_ids == (gone.experiment_id,) and done.run_ids == (gone.run_id,)
    with pytest.raises(ExperimentNotFoundError):
        store.get_experiment(gone.experiment_id)
    assert store.get_run(stays.run_id).status is RunStatus.COMPLETED
    assert store.purge_deleted() == type(done)((), (), 0)  # nothing left to purge

    # Named experiments: only deleted ones, with every run in them.
    named = _ended(store, "purge-named")
    with pytest.raises(ConflictError, match="is not deleted; nothing was purged"):
        store.purge_deleted(experiment_ids=[named.experiment_id])
    with pytest.raises(ExperimentNotFoundError):
        store.purge_deleted(experiment_ids=["no-such-experiment"])
    store.delete_experiment(named.experiment_id)
    done = store.purge_deleted(experiment_ids=[named.experiment_id])
    assert done.experiment_ids == (named.experiment_id,) and done.run_ids == (named.run_id,)


def test_parse_age() -> None:
    assert parse_age("30d") == 30 * 86400
    assert parse_age("1d12h") == 36 * 3600
    assert parse_age("90m") == 5400 and parse_age("2m4s") == 124
    for bad in ("", "3 days", "1w", "h"):
        with pytest.raises(ValidationError, match="#d#h#m#s"):
            parse_age(bad)


def _gc(workspace: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-w", workspace, "gc", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    old = Experiment(ws, "gc").start_logging()
    old.log("loss", 0.5)
    old.upload_file("outputs/a.txt", str(_file(tmp_path / "a.txt", 3000)))
    old.complete()
    fresh = Experiment(ws, "gc").start_logging()
    fresh.complete()
    w = str(tmp_path / "proj")
    for run in (old, fresh):
        ws.store.delete_run(run.id)

    plan = json.loads(_gc(w, "--dry-run", "--json"))
    assert set(plan["run_ids"]) == {old.id, fresh.id} and plan["dry_run"] is True
    assert plan["file_bytes"] >= 3000
    assert "would remove 2 run(s)" in _gc(w, "--dry-run")
    assert "removed 0 run(s)" in _gc(w, "--older-than", "1d")  # both deleted just now
    out = _gc(w, "--run-ids", old.id)
    assert f"{old.id}: purged" in out and fresh.id not in out
    assert old.id not in _invoke(w, "runs", "list", "--deleted")
    assert fresh.id in _invoke(w, "runs", "list", "--deleted")

    for args, message in (
        (["--older-than", "a week"], "#d#h#m#s"),
        (["--run-ids", fresh.id + ",no-such-run"], "no run with id 'no-such-run'"),
        (["--run-ids", ","], "--run-ids is empty"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "runyard.cli", "-w", w, "gc", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode != 0 and message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert fresh.id in _invoke(w, "runs", "list", "--deleted")  # a refusal purged nothing
    ws.close()


def _invoke(workspace: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-w", workspace, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _file(path: Path, size: int) -> Path:
    path.write_bytes(b"y" * size)
    return path


def test_mlflow_gc(tmp_path: Path) -> None:
    """MLflow's own ``mlflow gc`` on a ``runyard:`` store: the deleted runs and
    experiments go, rows and files; --older-than keeps what was deleted just now."""
    mlflow = pytest.importorskip("mlflow")
    ws = Workspace.create(tmp_path / "proj", name="proj")
    uri = ws.get_mlflow_tracking_uri()
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp_id = client.create_experiment("gc-runs")
    doomed, kept = (client.create_run(exp_id) for _ in "ab")
    for run in (doomed, kept):
        client.log_metric(run.info.run_id, "loss", 0.5)
        client.set_terminated(run.info.run_id)
    (tmp_path / "w.txt").write_text("weights")
    client.log_artifact(doomed.info.run_id, str(tmp_path / "w.txt"))
    gone_exp = client.create_experiment("gc-exp")
    in_gone = client.create_run(gone_exp)
    client.set_terminated(in_gone.info.run_id)
    client.delete_run(doomed.info.run_id)
    client.delete_experiment(gone_exp)
    folder = ws.artifact_root / "runs" / doomed.info.run_id
    assert folder.is_dir()

    def gc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mlflow", "gc", "--backend-store-uri", uri, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "MLFLOW_TRACKING_URI": uri},
        )

    young = gc("--older-than", "1d")
    assert young.returncode == 0, young.stderr
    assert ws.store.get_run(doomed.info.run_id).deleted_at is not None  # too young: kept
    done = gc()
    assert done.returncode == 0, done.stderr
    assert f"Run with ID {doomed.info.run_id} has been permanently deleted" in done.stdout
    for run_id in (doomed.info.run_id, in_gone.info.run_id):
        with pytest.raises(RunNotFoundError):
            ws.store.get_run(run_id)
    with pytest.raises(ExperimentNotFoundError):
        ws.store.get_experiment(gone_exp)
    assert not folder.exists()
    assert ws.store.get_run(kept.info.run_id).deleted_at is None
    ws.close()


def test_gc_asks_on_a_terminal_and_removes_only_what_it_showed(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    run = Experiment(ws, "ask").start_logging()
    run.complete()
    ws.store.delete_run(run.id)
    argv = [sys.executable, "-m", "runyard.cli", "-w", str(tmp_path / "proj"), "gc"]
    code, seen = run_on_a_terminal(argv, stdin_too=True, answers={b"for good?": b"n\n"})
    assert code != 0 and b"Remove 1 run(s)" in seen and b"Aborted" in seen
    assert ws.store.get_run(run.id).deleted_at is not None  # "no" removes nothing
    code, seen = run_on_a_terminal(argv, stdin_too=True, answers={b"for good?": b"y\n"})
    assert code == 0 and f"{run.id}: purged".encode() in seen
    with pytest.raises(RunNotFoundError):
        ws.store.get_run(run.id)
    ws.close()
