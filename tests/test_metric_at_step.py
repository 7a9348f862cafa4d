"""A metric's value at a step: the store's read (SQLite, PostgreSQL), the filter's
``at(metrics.NAME, STEP)``, the CLI's ``metric:NAME@STEP`` column and the studio's
``cols=metrics.NAME@STEP``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from runyard.cli import cli
from runyard.core import Experiment, Workspace
from runyard.entities import MetricColumns, RunInfo, RunKind, RunQuery, RunStatus
from runyard.errors import ValidationError
from runyard.server import create_app
from runyard.store.base import Store
from runyard.store.filtered_search import search_filtered
from runyard.store.runfilter import FilterSyntaxError, parse_filter
from tests.support.server import start_server


def _run(store: Store, name: str = "at-step") -> RunInfo:
    exp = store.get_or_create_experiment(name)
    return store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)


def _log(
    store: Store, run_id: str, key: str, kind: str, steps: list[int], values: list[object]
) -> None:
    columns = MetricColumns(key, kind, steps, [1.0 + i for i in range(len(steps))], values)
    store.append_metrics(run_id, [columns])


def check_values_at_step(store: Store) -> None:
    a, b, c = _run(store), _run(store), _run(store)
    # Three appends: three blocks, the step logged twice across two of them.
    _log(store, a.run_id, "loss", "float", [0, 1, 2], [1.0, 0.5, 0.25])
    _log(store, a.run_id, "loss", "float", [2, 3], [0.2, math.nan])
    _log(store, b.run_id, "loss", "float", [0, 1], [0.9, 0.8])
    _log(store, a.run_id, "epoch", "int", [5], [2**62 + 1])
    _log(store, a.run_id, "ok", "bool", [5], [True])
    _log(store, a.run_id, "phase", "str", [5], ["eval"])
    ids = [a.run_id, b.run_id, c.run_id, "no_such_run_1"]
    assert store.get_metric_values_at_step(ids, "loss", 2) == {a.run_id: 0.2}  # the last at 2
    assert store.get_metric_values_at_step(ids, "loss", 1) == {a.run_id: 0.5, b.run_id: 0.8}
    assert math.isnan(store.get_metric_values_at_step(ids, "loss", 3)[a.run_id])
    assert store.get_metric_values_at_step(ids, "loss", 99) == {}
    assert store.get_metric_values_at_step(ids, "epoch", 5) == {a.run_id: 2**62 + 1}  # exact
    assert store.get_metric_values_at_step(ids, "ok", 5) == {a.run_id: True}
    assert store.get_metric_values_at_step(ids, "phase", 5) == {a.run_id: "eval"}
    assert store.get_metric_values_at_step([], "loss", 1) == {}


def test_values_at_step(store: Store) -> None:
    check_values_at_step(store)


def test_the_filter_keeps_runs_by_their_value_at_a_step(store: Store) -> None:
    fast, slow, short = _run(store, "flt"), _run(store, "flt"), _run(store, "flt")
    _log(store, fast.run_id, "val_acc", "float", [1, 10, 20], [0.5, 0.91, 0.95])
    _log(store, slow.run_id, "val_acc", "float", [1, 10, 20], [0.4, 0.7, 0.96])
    _log(store, short.run_id, "val_acc", "float", [1], [0.99])
    query = RunQuery(experiment_id=fast.experiment_id, sort="number", descending=False)
    page = search_filtered(store, query, parse_filter("at(metrics.val_acc, 10) > 0.9"))
    assert [r.run_id for r in page.runs] == [fast.run_id]  # short has no point at 10
    both = parse_filter("at(metrics.val_acc, 10) < 0.8 and metrics.val_acc > 0.95")
    assert [r.run_id for r in search_filtered(store, query, both).runs] == [slow.run_id]
    assert both.step_fields()[0].label() == "at(metrics.val_acc, 10)"
    for bad, says in [
        ("at(metrics.val_acc) > 1", "a step"),
        ("at(tags.model, 3) = 'x'", "takes a metric and a step"),
        ("at(metrics.val_acc, 1.5) > 1", "not a whole number"),
    ]:
        with pytest.raises(FilterSyntaxError, match=says):
            parse_filter(bad)


def test_runs_sort_by_their_value_at_a_step(store: Store) -> None:
    """Numbers by value (ints exactly), then NaN, then runs with no number at the step
    (none logged there, or a string), either direction; ties newest first; the page is
    cut after the sort."""
    runs = {name: _run(store, "sort-at") for name in ("a", "b", "c", "nan", "none", "text", "big")}
    at = {"a": 0.5, "b": 0.25, "c": 0.5, "nan": math.nan}
    for name, value in at.items():
        _log(store, runs[name].run_id, "loss", "float", [9, 10], [0.0, value])
    _log(store, runs["none"].run_id, "loss", "float", [9], [0.1])  # nothing at step 10
    _log(store, runs["text"].run_id, "loss", "str", [10], ["diverged"])
    _log(store, runs["big"].run_id, "loss", "int", [10], [2**62 + 1])
    exp_id = runs["a"].experiment_id

    def order(descending: bool, **kwargs: int) -> list[str]:
        query = RunQuery(
            experiment_id=exp_id, sort="metric:loss@10", descending=descending, **kwargs
        )
        names = {r.run_id: n for n, r in runs.items()}
        return [names[r.run_id] for r in search_filtered(store, query, None).runs]

    # c was created after a: newest first among equal values, in both directions.
    assert order(False)[:4] == ["b", "c", "a", "big"]
    assert order(True)[:4] == ["big", "c", "a", "b"]
    assert order(False)[4] == order(True)[4] == "nan"
    assert set(order(False)[5:]) == set(order(True)[5:]) == {"none", "text"}
    assert order(False, limit=2, offset=1) == ["c", "a"]
    kept = search_filtered(
        store,
        RunQuery(experiment_id=exp_id, sort="metric:loss@10", descending=True),
        parse_filter("at(metrics.loss, 10) < 1"),
    )
    assert [r.run_id for r in kept.runs] == [runs[n].run_id for n in ("c", "a", "b")]
    assert kept.total == 3


def test_cli_column_and_studio_column(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "proj", name="proj")
    exp = Experiment(ws, "cols")
    ids = []
    for lr in (0.1, 0.2):
        run = exp.start_logging()
        for step in range(5):
            run.log("loss", lr * (5 - step), step=step)
        run.complete()
        ids.append(run.id)
    w = str(tmp_path / "proj")
    result = CliRunner().invoke(
        cli, ["-w", w, "runs", "list", "--columns", "id,metric:loss@3"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "loss@3" in result.output and "0.2" in result.output and "0.4" in result.output
    for order, first in (("--asc", ids[0]), ("--desc", ids[1])):
        result = CliRunner().invoke(
            cli, ["-w", w, "runs", "list", "--sort", "metric:loss@3", order, "--json"]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["runs"][0]["id"] == first
    result = CliRunner().invoke(cli, ["-w", w, "runs", "list", "--sort", "metric:loss@3"])
    assert "loss@3" in result.output.splitlines()[0]  # the sort's value is a column
    assert result.output.index(ids[0]) < result.output.index(ids[1])
    with pytest.raises(ValidationError, match="metric:NAME@STEP"):
        from runyard.cli.columns import parse_columns

        parse_columns("id,lossy", None)

    srv = start_server(create_app(ws.store, token="t"))
    try:
        page = httpx.get(
            f"{srv.url}/experiments/{exp.id}", params={"cols": "metrics.loss@3"}, timeout=30
        )
        assert page.status_code == 200
        assert "at(metrics.loss, 3)" in page.text  # the column's header
        assert ">0.2<" in page.text.replace(" ", "") and ">0.4<" in page.text.replace(" ", "")
        # Sorted by it (the column's header links there): highest first, then lowest.
        for order, first, second in (("desc", ids[1], ids[0]), ("asc", ids[0], ids[1])):
            page = httpx.get(
                f"{srv.url}/experiments/{exp.id}",
                params={"sort": "metric:loss@3", "order": order},
                timeout=30,
            )
            assert page.status_code == 200 and "at(metrics.loss, 3)" in page.text
            assert page.text.index(first) < page.text.index(second)
            assert "sort=metric%3Aloss%403" in page.text  # the header's sort link
    finally:
        srv.stop()
        ws.close()
