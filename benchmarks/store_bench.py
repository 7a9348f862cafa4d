"""SQL store speed: metric ingest, down-sampled reads, and a sorted runs list.

    python -m benchmarks.store_bench [--uri sqlite:///PATH | postgresql://...]

``RUNYARD_BENCH_RUNS`` changes the size of the runs-list test (default 10,000).

Targets (from the design): ingest >= 1,000,000 points/s into SQLite; a 1M-point series
down-sampled to 2,000 points in <= 50 ms; the first 100 of 10,000 runs sorted by
``metric:loss`` in well under 100 ms.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.target_table import Result, print_table
from runyard.entities import MetricColumns, RunKind, RunQuery, RunStatus
from runyard.store.artifacts import LocalArtifactRepository
from runyard.store.sql import SqlStore

POINTS = 1_000_000
BATCH = 10_000
RUNS = int(os.environ.get("RUNYARD_BENCH_RUNS", "10000"))


def _columns(key: str, steps: Any, timestamps: Any, values: Any) -> MetricColumns:
    return MetricColumns(key, "float", steps, timestamps, values)


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def bench_ingest(store: SqlStore) -> list[Result]:
    exp = store.get_or_create_experiment("bench-ingest")
    rng = np.random.default_rng(0)
    values = rng.normal(size=POINTS)
    steps = np.arange(POINTS, dtype=np.int64)
    stamps = time.time() + steps * 1e-3

    one = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    started = time.perf_counter()
    store.append_metrics(one.run_id, [_columns("loss", steps, stamps, values)])
    single = POINTS / (time.perf_counter() - started)

    batched = store.create_run(
        exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING
    )
    started = time.perf_counter()
    for lo in range(0, POINTS, BATCH):
        hi = lo + BATCH
        store.append_metrics(
            batched.run_id,
            [_columns("loss", steps[lo:hi], stamps[lo:hi], values[lo:hi])],
            journal_offset=hi,
        )
    per_batch = POINTS / (time.perf_counter() - started)

    as_lists = store.create_run(
        exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING
    )
    lists = (steps.tolist(), stamps.tolist(), values.tolist())
    started = time.perf_counter()
    for lo in range(0, POINTS, BATCH):
        hi = lo + BATCH
        store.append_metrics(
            as_lists.run_id,
            [_columns("loss", lists[0][lo:hi], lists[1][lo:hi], lists[2][lo:hi])],
        )
    from_lists = POINTS / (time.perf_counter() - started)
    return [
        Result("ingest 1M points, one call", single, "points/s", ">= 1e6", single >= 1e6),
        Result(
            f"ingest 1M points, {BATCH:,}/call", per_batch, "points/s", ">= 1e6", per_batch >= 1e6
        ),
        Result(
            f"ingest 1M points, lists, {BATCH:,}/call",
            from_lists,
            "points/s",
            ">= 1e6",
            from_lists >= 1e6,
        ),
    ]


def bench_read(store: SqlStore) -> list[Result]:
    exp = store.get_or_create_experiment("bench-ingest")
    run_id = store.search_runs(RunQuery(experiment_id=exp.experiment_id, limit=1)).runs[0].run_id
    times = _timed(lambda: store.get_metric_series(run_id, "loss", max_points=2000), 11)
    median = statistics.median(times) * 1000
    full = statistics.median(_timed(lambda: store.get_metric_series(run_id, "loss"), 3)) * 1000
    return [
        Result("read 1M -> 2,000 points (median)", median, "ms", "<= 50", median <= 50),
        Result("read 1M -> 2,000 points (first)", times[0] * 1000, "ms", "", True),
        Result("read 1M points, no down-sampling", full, "ms", "", True),
    ]


def bench_search(store: SqlStore) -> list[Result]:
    exp = store.get_or_create_experiment("bench-search")
    rng = np.random.default_rng(1)
    started = time.perf_counter()
    for i in range(RUNS):
        run = store.create_run(
            exp.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.COMPLETED if i % 3 else RunStatus.RUNNING,
            tags={"seed": str(i % 10)},
        )
        if i % 10:  # a tenth of the runs lack the metric
            n = 20
            store.append_metrics(
                run.run_id,
                [_columns("loss", np.arange(n), np.zeros(n), rng.random(n))],
            )
    setup = time.perf_counter() - started

    def search(sort: str, **kwargs: Any) -> None:
        page = store.search_runs(
            RunQuery(experiment_id=exp.experiment_id, sort=sort, limit=100, **kwargs)
        )
        assert len(page.runs) == min(100, page.total)

    results = []
    cases: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("metric:loss", "metric:loss", {"descending": False, "with_metrics": ["loss"]}),
        ("metric:loss:max desc", "metric:loss:max", {}),
        ("created_at, tag filter", "created_at", {"tags": {"seed": "3"}}),
        ("text search", "created_at", {"text": "bench-search_"}),
    )
    for label, sort, kwargs in cases:
        ms = statistics.median(_timed(functools.partial(search, sort, **kwargs), 11)) * 1000
        results.append(Result(f"search {RUNS:,} runs by {label}", ms, "ms", "< 100", ms < 100))
    results.append(Result(f"(setup: create {RUNS:,} runs)", setup, "s", "", True))
    return results


def run(uri: str | None = None) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        uri = uri or f"sqlite:///{root / 'bench.db'}"
        started = time.perf_counter()
        store = SqlStore(uri, LocalArtifactRepository(root / "artifacts"))
        first_open = (time.perf_counter() - started) * 1000
        store.close()
        started = time.perf_counter()
        store = SqlStore(uri, LocalArtifactRepository(root / "artifacts"))
        reopen = (time.perf_counter() - started) * 1000
        try:
            results = [
                Result("open a new database (migrate)", first_open, "ms", "", True),
                Result("open a migrated database", reopen, "ms", "< 50", reopen < 50),
            ]
            results += bench_ingest(store)
            results += bench_read(store)
            results += bench_search(store)
        finally:
            store.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--uri", help="store URI (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    results = run(args.uri)
    print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
