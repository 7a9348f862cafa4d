"""Many processes at once: appending, creating runs, claiming, opening a new database.
SQLite must never fail with "database is locked"; claims never exceed the slots."""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from runyard.entities import MetricColumns, RunKind, RunQuery, RunStatus
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.sql import SqlStore

PROCESSES = 6
_CTX = multiprocessing.get_context("fork")


def _columns(key: str, value_type: str, steps: Any, timestamps: Any, values: Any) -> MetricColumns:
    """MetricColumns from numpy arrays or array.array (the store accepts any sequence)."""
    return MetricColumns(key, value_type, steps, timestamps, values)


def _open(uri: str, folder: str) -> SqlStore:
    return SqlStore(uri, LocalArtifactRepository(Path(folder)))


def _appender(uri: str, folder: str, run_ids: list[str], worker: int, out: Any) -> None:
    with _open(uri, folder) as store:
        for batch in range(20):
            for run_id in run_ids:
                base = (worker * 20 + batch) * 100
                steps = np.arange(base, base + 100)
                store.append_metrics(
                    run_id,
                    [_columns("loss", "float", steps, steps * 1.0, steps * 0.5)],
                    journal_offset=batch,
                )
            store.heartbeat(run_ids[0], owner=f"worker-{worker}")
    out.put(("ok", worker))


def _creator(uri: str, folder: str, experiment_id: str, worker: int, out: Any) -> None:
    with _open(uri, folder) as store:
        for _ in range(10):
            store.create_run(
                experiment_id,
                kind=RunKind.SUBMITTED,
                status=RunStatus.QUEUED,
                compute_target="pool",
            )
    out.put(("ok", worker))


def _claimer(uri: str, folder: str, slots: int, worker: int, out: Any) -> None:
    with _open(uri, folder) as store:
        claimed = []
        for _ in range(10):
            run = store.claim_next_queued("pool", slots)
            if run is not None:
                claimed.append(run.run_id)
    out.put(("ok", claimed))


def _opener(uri: str, folder: str, worker: int, out: Any) -> None:
    with _open(uri, folder) as store:
        store.get_or_create_experiment("shared")
    out.put(("ok", worker))


def _guard(target: Callable[..., None], *args: Any) -> None:
    out = args[-1]
    try:
        target(*args)
    except BaseException:
        out.put(("error", traceback.format_exc()))


def _in_processes(target: Callable[..., None], args_per_worker: list[tuple[Any, ...]]) -> list[Any]:
    out: multiprocessing.queues.Queue[Any] = _CTX.Queue()
    procs = [_CTX.Process(target=_guard, args=(target, *args, out)) for args in args_per_worker]
    for p in procs:
        p.start()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [detail for status, detail in results if status == "error"]
    assert not errors, errors[0]
    return [detail for _, detail in results]


def test_concurrent_appends_lose_nothing(store: SqlStore, store_uri: str, tmp_path: Path) -> None:
    exp = store.get_or_create_experiment("load")
    run_ids = [
        store.create_run(exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING).run_id
        for _ in range(3)
    ]
    _in_processes(_appender, [(store_uri, str(tmp_path), run_ids, w) for w in range(PROCESSES)])
    expected = PROCESSES * 20 * 100
    for run_id in run_ids:
        series = store.get_metric_series(run_id, "loss")
        assert series.total_count == expected == len(series.values)
        assert sorted(series.steps) == list(range(expected))
        assert store.get_metric_summaries(run_id)["loss"].count == expected
        assert store.get_journal_offset(run_id) == 19


def test_concurrent_run_creation_numbers_uniquely(
    store: SqlStore, store_uri: str, tmp_path: Path
) -> None:
    exp = store.get_or_create_experiment("numbers")
    _in_processes(
        _creator, [(store_uri, str(tmp_path), exp.experiment_id, w) for w in range(PROCESSES)]
    )
    page = store.search_runs(RunQuery(experiment_id=exp.experiment_id, limit=1000))
    assert page.total == PROCESSES * 10
    assert sorted(r.number for r in page.runs) == list(range(1, PROCESSES * 10 + 1))


def test_concurrent_claims_across_processes(
    store: SqlStore, store_uri: str, tmp_path: Path
) -> None:
    exp = store.get_or_create_experiment("claims")
    for _ in range(30):
        store.create_run(
            exp.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.QUEUED,
            compute_target="pool",
        )
    slots = 5
    results = _in_processes(
        _claimer, [(store_uri, str(tmp_path), slots, w) for w in range(PROCESSES)]
    )
    claimed = [run_id for got in results for run_id in got]
    assert len(claimed) == slots and len(set(claimed)) == slots
    active = store.search_runs(RunQuery(statuses=[RunStatus.PREPARING]))
    assert active.total == slots


def test_concurrent_openers_of_a_new_sqlite_file(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'fresh' / 'runyard.db'}"
    _in_processes(_opener, [(uri, str(tmp_path), w) for w in range(PROCESSES)])
    with _open(uri, str(tmp_path)) as store:
        assert [s.experiment.name for s in store.list_experiments()] == ["shared"]
