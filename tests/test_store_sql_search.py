"""search_runs: filters, sorting (columns and metric summaries), paging and totals."""

from __future__ import annotations

import pytest

from runyard.entities import MetricColumns, RunKind, RunQuery, RunStatus
from runyard.errors import ValidationError
from runyard.store.sql import SqlStore


@pytest.fixture
def populated(store: SqlStore) -> dict[str, str]:
    """Five runs in 'exp' (r0..r4) with loss metrics, tags and statuses; one elsewhere."""
    exp = store.get_or_create_experiment("exp")
    other = store.get_or_create_experiment("other")
    ids: dict[str, str] = {}
    losses = {0: [3.0, 1.0, 2.0], 1: [0.5], 2: [5.0, 4.0], 3: None, 4: [0.1, 9.0]}
    for i in range(5):
        run = store.create_run(
            exp.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.QUEUED,
            run_id=f"run-{i}",
            display_name=f"Trial {i}" if i != 2 else "Baseline",
            tags={"team": "vision" if i % 2 == 0 else "nlp", "seed": str(i)},
            compute_target="gpu" if i == 4 else "local",
        )
        ids[f"r{i}"] = run.run_id
        values = losses[i]
        if values is not None:
            n = len(values)
            store.append_metrics(
                run.run_id,
                [MetricColumns("loss", "float", list(range(n)), [0.0] * n, values)],
            )
    store.set_status(ids["r1"], RunStatus.RUNNING)
    store.set_status(ids["r2"], RunStatus.COMPLETED)
    child = store.create_run(
        exp.experiment_id,
        kind=RunKind.CHILD,
        status=RunStatus.RUNNING,
        parent_run_id=ids["r1"],
        run_id="child-1",
    )
    ids["child"] = child.run_id
    ids["o"] = store.create_run(
        other.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.QUEUED, run_id="o-1"
    ).run_id
    ids["exp"] = exp.experiment_id
    return ids


def _ids(store: SqlStore, **kwargs: object) -> list[str]:
    page = store.search_runs(RunQuery(**kwargs))  # type: ignore[arg-type]
    return [r.run_id for r in page.runs]


def test_default_sort_is_newest_first(store: SqlStore, populated: dict[str, str]) -> None:
    page = store.search_runs(RunQuery(experiment_id=populated["exp"]))
    assert page.total == 6
    assert [r.run_id for r in page.runs] == ["child-1", "run-4", "run-3", "run-2", "run-1", "run-0"]
    assert _ids(store, experiment_id=populated["exp"], sort="number", descending=False)[:2] == [
        "run-0",
        "run-1",
    ]


@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        ("metric:loss", False, ["run-1", "run-0", "run-2", "run-4", "run-3"]),
        ("metric:loss:last", True, ["run-4", "run-2", "run-0", "run-1", "run-3"]),
        ("metric:loss:min", False, ["run-4", "run-1", "run-0", "run-2", "run-3"]),
        ("metric:loss:max", True, ["run-4", "run-2", "run-0", "run-1", "run-3"]),
    ],
)
def test_sort_by_metric_missing_last(
    store: SqlStore, populated: dict[str, str], sort: str, descending: bool, expected: list[str]
) -> None:
    got = _ids(
        store,
        experiment_id=populated["exp"],
        sort=sort,
        descending=descending,
        parent_run_id=None,
        statuses=[RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.COMPLETED],
        tags={},
    )
    # Runs lacking the metric come last, newest first among themselves.
    assert got == [*expected[:-1], "child-1", "run-3"]


def test_filters(store: SqlStore, populated: dict[str, str]) -> None:
    exp = populated["exp"]
    assert set(_ids(store, experiment_id=exp, statuses=[RunStatus.RUNNING])) == {"run-1", "child-1"}
    assert set(_ids(store, tags={"team": "vision"})) == {"run-0", "run-2", "run-4"}
    assert _ids(store, tags={"team": "vision", "seed": "2"}) == ["run-2"]
    assert _ids(store, tags={"team": "nope"}) == []
    assert _ids(store, parent_run_id="run-1") == ["child-1"]
    assert _ids(store, compute_target="gpu") == ["run-4"]
    assert _ids(store, text="baseline") == ["run-2"]  # display name, any case
    assert _ids(store, text="run-3") == ["run-3"]  # id prefix
    assert set(_ids(store, text="nlp")) == {"run-1", "run-3"}  # tag value
    assert _ids(store, text="%") == []  # wildcards are literal
    assert set(_ids(store)) == {*(f"run-{i}" for i in range(5)), "child-1", "o-1"}


def test_paging_total_and_summaries(store: SqlStore, populated: dict[str, str]) -> None:
    query = dict(experiment_id=populated["exp"], sort="metric:loss", descending=False)
    first = store.search_runs(RunQuery(limit=2, with_metrics=["loss", "absent"], **query))  # type: ignore[arg-type]
    second = store.search_runs(RunQuery(limit=2, offset=2, **query))  # type: ignore[arg-type]
    assert first.total == second.total == 6
    assert [r.run_id for r in first.runs] == ["run-1", "run-0"]
    assert [r.run_id for r in second.runs] == ["run-2", "run-4"]
    assert first.summaries["run-0"]["loss"].min == 1.0
    assert set(first.summaries["run-0"]) == {"loss"}
    assert first.runs[0].tags == {"team": "nlp", "seed": "1"}


def test_bad_sort(store: SqlStore) -> None:
    with pytest.raises(ValidationError, match="sort"):
        store.search_runs(RunQuery(sort="colour"))
    with pytest.raises(ValidationError):
        store.search_runs(RunQuery(sort="metric:"))


def test_sort_by_duration_and_status(store: SqlStore, populated: dict[str, str]) -> None:
    by_duration = _ids(store, experiment_id=populated["exp"], sort="duration")
    assert by_duration[-1] in {"run-0", "run-3", "run-4"}  # never started: no duration
    assert len(_ids(store, sort="status", descending=False)) == 7
