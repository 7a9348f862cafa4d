"""The standard-library SQLite reader (store.sql.reader) answers as the store does, and
the CLI lists runs with it only when opening the store would change nothing."""

from __future__ import annotations

import itertools
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.core import Workspace
from runyard.entities import MetricColumns, RunKind, RunQuery, RunStatus
from runyard.errors import ValidationError
from runyard.runner.reaper import reaping_due
from runyard.store.base import Store
from runyard.store.sql.reader import SqliteReader

HOST = socket.gethostname()
BIG = 2**53 + 1  # a float64 cannot hold it: the int columns must sort it


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """Runs of every shape a list meets: statuses, tags, properties, parents, targets,
    deleted runs and a deleted experiment, names with LIKE's wildcards, and metrics of
    each type with ties, NaN, -0.0, ints past 2**53 and runs without them."""
    ws = Workspace.create(tmp_path_factory.mktemp("reader"))
    store = ws.store
    exp = store.get_or_create_experiment("exp")
    gone = store.get_or_create_experiment("gone")
    losses: list[list[float] | None] = [[3.0, 1.0], [0.5], [float("nan")], None, [-0.0], [0.5]]
    steps: list[int | None] = [BIG, 7, BIG - 1, None, -3, 7]
    parent = None
    for i in range(12):
        run = store.create_run(
            (gone if i == 11 else exp).experiment_id,
            kind=RunKind.CHILD if parent is not None and i % 4 == 1 else RunKind.INTERACTIVE,
            status=RunStatus.RUNNING,
            parent_run_id=parent if i % 4 == 1 else None,
            display_name=["50%_off", "Trial_1", "trial/x", ""][i % 4],
            compute_target="gpu" if i % 3 == 0 else "local",
            tags={"team": "vision" if i % 2 else "nlp", "note": f"Seed {i % 3}%"},
            properties={"azureml.runsource": "x"} if i % 5 == 0 else None,
            definition={"script": "train.py", "i": i},
        )
        parent = parent or run.run_id
        loss = losses[i % len(losses)]
        if loss is not None:
            n = len(loss)
            store.append_metrics(
                run.run_id, [MetricColumns("loss", "float", list(range(n)), [1.0] * n, loss)]
            )
        step = steps[i % len(steps)]
        if step is not None:
            store.append_metrics(run.run_id, [MetricColumns("step", "int", [0], [1.0], [step])])
        if i % 4 == 2:
            store.append_metrics(run.run_id, [MetricColumns("tag", "str", [0], [1.0], ["b"])])
            store.append_metrics(run.run_id, [MetricColumns("ok", "bool", [0], [1.0], [True])])
        if i % 3 != 1:
            store.set_status(run.run_id, [RunStatus.COMPLETED, RunStatus.FAILED][i % 2])
        if i == 8:
            store.delete_run(run.run_id)
    store.delete_experiment(gone.experiment_id)
    yield ws
    ws.close()


def _queries(experiment_id: str, parent_id: str) -> Iterator[RunQuery]:
    sorts = ["created_at", "status", "number", "duration", "started_at", "ended_at"]
    sorts += ["display_name", "metric:loss", "metric:loss:min", "metric:step:max"]
    sorts += ["metric:tag", "metric:ok:last", "metric:none"]
    for sort, descending in itertools.product(sorts, (True, False)):
        yield RunQuery(sort=sort, descending=descending, with_metrics=["loss", "step", "ok"])
    for lifecycle in ("active", "deleted", "all"):
        yield RunQuery(lifecycle=lifecycle, with_metrics=["tag"])
    yield RunQuery(experiment_id=experiment_id, statuses=[RunStatus.RUNNING, RunStatus.FAILED])
    yield RunQuery(tags={"team": "vision", "note": "Seed 1%"})
    yield RunQuery(parent_run_id=parent_id, compute_target="local")
    for text in ("50%", "trial_", "TRIAL/", "seed 2", "%", "_", "nothing", "  "):
        yield RunQuery(text=text)
    for offset, limit in ((0, 3), (3, 3), (10, 5), (50, 5), (0, 0)):
        yield RunQuery(sort="metric:loss", offset=offset, limit=limit, with_metrics=["loss"])


def test_every_page_is_the_stores(filled: Workspace) -> None:
    store = filled.store
    exp = store.get_experiment_by_name("exp")
    assert exp is not None
    parent_id = store.search_runs(RunQuery(sort="number", descending=False)).runs[0].run_id
    reader = SqliteReader.open(filled.tracking_uri)
    assert reader is not None
    with reader:
        checked = 0
        for query in _queries(exp.experiment_id, parent_id):
            # repr: NaN summaries compare unequal to themselves
            assert repr(reader.search_runs(query)) == repr(store.search_runs(query)), query
            checked += 1
        for name in ("exp", "gone", "missing"):
            assert reader.get_experiment_by_name(name) == store.get_experiment_by_name(name)
    assert checked > 40
    # The data covers what the comparisons are for (a page of nothing proves nothing).
    big = store.search_runs(RunQuery(sort="metric:step:max", with_metrics=["step"], limit=2))
    assert [big.summaries[r.run_id]["step"].last for r in big.runs] == [BIG, BIG]
    assert store.search_runs(RunQuery(lifecycle="deleted")).total == 2


def test_bad_queries_get_the_stores_errors(filled: Workspace) -> None:
    reader = SqliteReader.open(filled.tracking_uri)
    assert reader is not None
    with reader:
        for query in (RunQuery(sort="colour"), RunQuery(limit=-1), RunQuery(lifecycle="x")):
            with pytest.raises(ValidationError) as mine:
                reader.search_runs(query)
            with pytest.raises(ValidationError) as stores:
                filled.store.search_runs(query)
            assert str(mine.value) == str(stores.value)


def test_it_opens_only_a_sqlite_file_at_this_schema(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    assert SqliteReader.open(f"sqlite:///{missing}") is None
    assert not missing.exists()  # never creates one
    assert SqliteReader.open("sqlite:///:memory:") is None
    assert SqliteReader.open("postgresql://127.0.0.1/runyard") is None
    assert SqliteReader.open(f"sqlite:///{tmp_path / 'x.db'}?mode=ro") is None
    ws = Workspace.create(tmp_path / "ws")
    uri = ws.tracking_uri
    ws.close()
    reader = SqliteReader.open(uri)
    assert reader is not None
    reader.close()
    conn = sqlite3.connect(uri.removeprefix("sqlite:///"))
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0004'")
    conn.close()
    assert SqliteReader.open(uri) is None  # an older schema: the store migrates it


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_reaping_due_when_a_run_is_dead_unclocked_or_a_sweep(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path)
    store: Store = ws.store
    exp = store.get_or_create_experiment("e")

    def run(kind: RunKind, owner: str | None) -> str:
        info = store.create_run(exp.experiment_id, kind=kind, status=RunStatus.RUNNING, owner=owner)
        return info.run_id

    done = run(RunKind.INTERACTIVE, None)
    store.set_status(done, RunStatus.COMPLETED)
    alive = run(RunKind.INTERACTIVE, f"{os.getpid()}@{HOST}")
    assert not reaping_due(store, now=0.0)
    for kind, owner in [
        (RunKind.INTERACTIVE, f"{_dead_pid()}@{HOST}"),
        (RunKind.SWEEP, f"{os.getpid()}@{HOST}"),
        (RunKind.SUBMITTED, None),
    ]:
        other = run(kind, owner)
        assert reaping_due(store, now=0.0), kind
        store.set_status(other, RunStatus.CANCELED)
    store.set_status(alive, RunStatus.COMPLETED)
    ws.close()


# The CLI in a fresh process, saying at the end whether it imported SQLAlchemy.
CLI = """
import runpy, sys
sys.argv = {argv!r}
try:
    runpy.run_module("runyard.cli", run_name="__main__")
finally:
    print("SQLALCHEMY" if "sqlalchemy" in sys.modules else "LEAN", file=sys.stderr)
"""


def _list(ws: Workspace, *options: str) -> subprocess.CompletedProcess[str]:
    argv = ["runyard", "-w", str(ws.root), "runs", "list", *options]
    return subprocess.run(
        [sys.executable, "-c", CLI.format(argv=argv)], capture_output=True, text=True, check=False
    )


def _imported(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stderr.strip().rsplit("\n", 1)[-1]


def test_the_cli_lists_without_sqlalchemy_until_a_run_needs_reaping(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path)
    exp = ws.store.get_or_create_experiment("e")
    ok = ws.store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    ws.store.append_metrics(ok.run_id, [MetricColumns("loss", "float", [0], [1.0], [0.25])])
    ws.store.set_status(ok.run_id, RunStatus.COMPLETED)
    columns = ("--columns", "id,status,metric:loss")
    lean = _list(ws, *columns)
    assert _imported(lean) == "LEAN"
    assert f"{ok.run_id}\tCompleted\t0.25" in lean.stdout
    # A run whose process died: the list opens the store, which reaps it first, so the
    # list shows it Failed (the reader would have shown it Running).
    dead = ws.store.create_run(
        exp.experiment_id,
        kind=RunKind.INTERACTIVE,
        status=RunStatus.RUNNING,
        owner=f"{_dead_pid()}@{HOST}",
    )
    ws.close()
    full = _list(ws, *columns)
    assert _imported(full) == "SQLALCHEMY"
    assert f"{dead.run_id}\tFailed" in full.stdout
    assert _imported(_list(ws, *columns)) == "LEAN"  # reaped: nothing left to do
    # A filter reads metric values: the store's work.
    filtered = _list(ws, "--filter", "metrics.loss < 1")
    assert _imported(filtered) == "SQLALCHEMY"
    assert ok.run_id in filtered.stdout and dead.run_id not in filtered.stdout
