"""Metric values stay exactly as logged, end to end (issue 12, item 6): int64 as int64,
floats (NaN, infinities, -0.0) as floats, bools as bools, on SQLite and PostgreSQL, from
the journal through ingest into the store, and back out of ``Run.get(...).get_metrics()``
and the REST API of a real server."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from runyard.core import Experiment, Run, Workspace
from runyard.entities import MetricColumns, RunKind, RunQuery, RunStatus
from runyard.server import create_app
from runyard.store.sql import SqlStore
from runyard.tracking.ingest import JournalIngester
from runyard.tracking.journal import JournalWriter
from tests.support.server import start_server

BIG = 2**60 + 1
NEG = -(2**62) - 3
TOP = 2**63 - 1
BOTTOM = -(2**63)
SERIES = [2**53 + i for i in range(5000)]  # 2**53 + 1 is the first int a float64 rounds


def _same(got: Sequence[Any], want: Sequence[Any]) -> bool:
    """Equal values of equal types; NaN equals NaN and -0.0 differs from 0.0."""
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if type(g) is not type(w):
            return False
        if isinstance(w, float):
            if math.isnan(w) != math.isnan(g):
                return False
            if not math.isnan(w) and (g != w or math.copysign(1, g) != math.copysign(1, w)):
                return False
        elif g != w:
            return False
    return True


FLOATS = [0.1, math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324]
BOOLS = [True, False, True]


def _log_all(writer: JournalWriter, ingester: JournalIngester | None = None) -> None:
    writer.log("big", BIG)
    writer.log("neg", NEG)
    writer.log("m", TOP)
    writer.log("bottom", BOTTOM)
    for value in FLOATS:
        writer.log("f", value)
    for value in BOOLS:
        writer.log("ok", value)
    for i, value in enumerate(SERIES):
        writer.log("s", value)
        if ingester is not None and i % 97 == 0:
            ingester.ingest_once()  # many small ticks: the tail is compacted on the way


def _check_store(store: SqlStore, run_id: str) -> None:
    def values(key: str, **kw: Any) -> Sequence[Any]:
        return store.get_metric_series(run_id, key, **kw).values

    assert _same(values("big"), [BIG])
    assert _same(values("neg"), [NEG])
    assert _same(values("m"), [TOP])
    assert _same(values("bottom"), [BOTTOM])
    assert _same(values("f"), FLOATS)
    assert _same(values("ok"), BOOLS)
    assert _same(values("s"), SERIES)
    assert _same(values("s", start=4090), SERIES[4090:])
    # Down-sampling keeps exact ints too (each kept point is one that was logged).
    kept = values("s", max_points=100)
    assert 2 < len(kept) <= 100 and all(type(v) is int and v in set(SERIES) for v in kept)
    summaries = store.get_metric_summaries(run_id)
    for key, want in (("big", BIG), ("neg", NEG), ("m", TOP), ("bottom", BOTTOM)):
        s = summaries[key]
        assert s.value_type == "int" and _same([s.last, s.min, s.max], [want] * 3)
    s = summaries["s"]
    assert _same([s.last, s.min, s.max], [SERIES[-1], SERIES[0], SERIES[-1]])
    assert s.count == len(SERIES) and s.last_step == len(SERIES) - 1
    f = summaries["f"]
    assert f.value_type == "float" and _same([f.last, f.min, f.max], [5e-324, -math.inf, math.inf])
    ok = summaries["ok"]
    assert ok.value_type == "bool" and _same([ok.last, ok.min, ok.max], [True, False, True])


def test_journal_to_store_exact(store: SqlStore, tmp_path: Path) -> None:
    exp = store.get_or_create_experiment("exact")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    writer = JournalWriter(tmp_path / "journal.bin")
    ingester = JournalIngester(store, run.run_id, writer.path)
    _log_all(writer, ingester)
    writer.log("last_float", -0.0)
    writer.close()
    ingester.drain()
    _check_store(store, run.run_id)
    assert _same([store.get_metric_summaries(run.run_id)["last_float"].last], [-0.0])
    store.set_status(run.run_id, RunStatus.COMPLETED)  # compaction changes nothing visible
    _check_store(store, run.run_id)


def test_int_metric_widens_to_float(store: SqlStore) -> None:
    exp = store.get_or_create_experiment("widen")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)

    def cols(value_type: str, values: list[Any], step0: int) -> list[MetricColumns]:
        n = len(values)
        return [MetricColumns("x", value_type, list(range(step0, step0 + n)), [1.0] * n, values)]

    store.append_metrics(run.run_id, cols("int", [BIG, 3], 0))
    assert _same(store.get_metric_series(run.run_id, "x").values, [BIG, 3])
    store.append_metrics(run.run_id, cols("float", [0.5], 2))  # an int block, a float one
    assert _same(store.get_metric_series(run.run_id, "x").values, [float(BIG), 3.0, 0.5])
    s = store.get_metric_summaries(run.run_id)["x"]
    assert s.value_type == "float" and _same([s.last, s.min, s.max], [0.5, 0.5, float(BIG)])
    store.set_status(run.run_id, RunStatus.COMPLETED)  # compacts an int and a float block
    assert _same(store.get_metric_series(run.run_id, "x").values, [float(BIG), 3.0, 0.5])
    with pytest.raises(Exception, match="64 bits"):
        store.append_metrics(run.run_id, [MetricColumns("y", "int", [0], [1.0], [2**64])])


def test_runs_sort_by_exact_ints(store: SqlStore) -> None:
    exp = store.get_or_create_experiment("sort")
    ids = {}
    for value in (2**60 + 1, 2**60, 2**60 + 2):  # one float64, 2**60, for all three
        run = store.create_run(
            exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING
        )
        store.append_metrics(run.run_id, [MetricColumns("n", "int", [0], [1.0], [value])])
        ids[run.run_id] = value
    for descending in (False, True):
        page = store.search_runs(
            RunQuery(experiment_id=exp.experiment_id, sort="metric:n", descending=descending)
        )
        got = [ids[r.run_id] for r in page.runs]
        assert got == sorted(ids.values(), reverse=descending)


def test_change_seq_counts_what_a_page_shows(store: SqlStore) -> None:
    exp = store.get_or_create_experiment("seq")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    other = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)

    def seq() -> int:
        return store.get_change_seqs([run.run_id])[run.run_id]

    start = seq()
    assert store.get_run(run.run_id).change_seq == start
    store.append_metrics(run.run_id, [MetricColumns("x", "float", [0], [1.0], [1.0])])
    assert seq() == start + 1
    store.append_metrics(run.run_id, [], journal_offset=10)  # nothing to show: no change
    store.heartbeat(run.run_id)
    assert seq() == start + 1
    store.set_tags(run.run_id, {"a": "b"})
    store.add_properties(run.run_id, {"p": "q"})
    store.add_properties(run.run_id, {"p": "q"})  # already so: nothing changed
    assert seq() == start + 3
    store.set_status(run.run_id, RunStatus.COMPLETED)
    assert seq() == start + 4 == store.get_run(run.run_id).change_seq
    both = store.get_change_seqs([run.run_id, other.run_id, "no-such-run"])
    assert both == {run.run_id: start + 4, other.run_id: other.change_seq}


# -- end to end: Run.get(...).get_metrics() and the REST API ---------------------------


def _rest_values(url: str, run_id: str, key: str) -> tuple[str, list[Any]]:
    resp = httpx.get(f"{url}/api/runs/{run_id}/metrics/{key}", timeout=10.0)
    resp.raise_for_status()
    body = resp.json()  # Python's json reads ints exactly and -0.0 as -0.0
    return body["value_type"], [_nonfinite(v) for v in body["values"]]


def _nonfinite(v: Any) -> Any:
    """JSON has no NaN or infinity: the wire writes them as {"$float": "NaN"}."""
    if isinstance(v, dict) and set(v) == {"$float"}:
        return float(v["$float"].replace("Infinity", "inf"))
    return v


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Workspace:
    if request.param == "sqlite":
        return Workspace.create(tmp_path / "ws", show_output=False)
    url = str(request.getfixturevalue("postgres_db_url"))
    return Workspace.create(tmp_path / "ws", tracking_uri=url, show_output=False)


def test_run_log_reads_back_exactly(workspace: Workspace) -> None:
    run = Experiment(workspace, "exact-e2e").start_logging()
    run.log("big", BIG)
    run.log("neg", NEG)
    run.log("m", TOP)
    for value in FLOATS:
        run.log("f", value)
    for value in BOOLS:
        run.log("ok", value)
    for value in SERIES:
        run.log("s", value)
    run.complete()

    metrics = Run.get(workspace, run.id).get_metrics()
    assert _same([metrics["big"], metrics["neg"], metrics["m"]], [BIG, NEG, TOP])
    assert _same(metrics["f"], FLOATS) and _same(metrics["ok"], BOOLS)
    assert _same(metrics["s"], SERIES)

    server = start_server(create_app(workspace.store, token="t"))
    try:
        for key, want, value_type in (
            ("big", [BIG], "int"),
            ("neg", [NEG], "int"),
            ("m", [TOP], "int"),
            ("f", FLOATS, "float"),
            ("ok", BOOLS, "bool"),
            ("s", SERIES, "int"),
        ):
            got_type, got = _rest_values(server.url, run.id, key)
            assert got_type == value_type and _same(got, want), key
        summaries = httpx.get(f"{server.url}/api/runs/{run.id}/metrics", timeout=10.0).json()
        big = summaries["metrics"]["big"]
        assert (big["last"], big["min"], big["max"]) == (BIG, BIG, BIG)
        assert type(big["last"]) is int
        # The HTTP store (what a run on another machine talks to) reads them the same.
        from runyard.remote.store import HttpStore

        remote = HttpStore(server.url, token="t")
        try:
            for key, want in (("big", [BIG]), ("f", FLOATS), ("ok", BOOLS), ("s", SERIES)):
                assert _same(remote.get_metric_series(run.id, key).values, want), key
            assert _same([remote.get_metric_summaries(run.id)["neg"].min], [NEG])
        finally:
            remote.close()
    finally:
        server.stop()
