"""A metric's value at a step: the store's read (SQLite, PostgreSQL), the filter's
``at(metrics.NAME, STEP)``, the CLI's ``metric:NAME@STEP`` column and the studio's
``cols=metrics.NAME@STEP``."""

from __future__ import annotations

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
    result = CliRunner().invoke(cli, ["-w", w, "runs", "list", "--sort", "metric:loss@3"])
    assert result.exit_code != 0 and "--columns metric:loss@3" in str(result.exception)
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
    finally:
        srv.stop()
        ws.close()
