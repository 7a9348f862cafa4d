"""The runs filter language (runyard.store.runfilter): parsing, errors naming the token
and its position, evaluation over a real SQLite store, and the API's 400."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runyard.entities import MetricColumns, RunKind, RunQuery, RunStatus
from runyard.server import create_app
from runyard.store.base import Store
from runyard.store.filtered_search import search_filtered
from runyard.store.runfilter import FilterSyntaxError, parse_filter
from tests.support.server import RunningServer, open_test_store, start_server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_test_store(tmp_path)
    yield s
    s.close()


def seed(store: Store) -> dict[str, str]:
    exp = store.get_or_create_experiment("filter")
    ids = {}
    for name, lr, model, acc in [
        ("a", "0.001", "cnn", 0.95),
        ("b", "0.1", "cnn", 0.97),
        ("c", "0.001", "mlp", 0.91),
        ("d", "0.005", "cnn", 0.80),
    ]:
        run = store.create_run(
            exp.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.COMPLETED,
            display_name=name,
            tags={"model": model},
            definition={"script": "t.py", "arguments": ["--lr", lr, f"--model={model}"]},
        )
        t = time.time()
        store.append_metrics(
            run.run_id,
            [MetricColumns("val_acc", "float", [0, 1, 2], [t] * 3, [0.5, acc, acc - 0.01])],
        )
        ids[name] = run.run_id
    ids["experiment"] = exp.experiment_id
    return ids


def names(store: Store, experiment_id: str, text: str) -> list[str]:
    query = RunQuery(experiment_id=experiment_id, sort="number", descending=False)
    page = search_filtered(store, query, parse_filter(text))
    assert page.total == len(page.runs)
    return [r.display_name for r in page.runs]


def test_filters_over_metrics_params_tags_and_attributes(store: Store) -> None:
    ids = seed(store)
    exp = ids["experiment"]
    text = 'max(metrics.val_acc) > 0.9 and params.lr < 0.01 and tags.model = "cnn"'
    assert names(store, exp, text) == ["a"]
    assert names(store, exp, 'tags.model = "mlp" or metrics.val_acc >= 0.96') == ["b", "c"]
    assert names(store, exp, '(tags.model = "mlp" or params.lr = 0.1) and number > 1') == [
        "b",
        "c",
    ]
    assert names(store, exp, 'params.model != "cnn"') == ["c"]
    assert names(store, exp, "min(metrics.val_acc) <= 0.5 and name = 'd'") == ["d"]
    assert names(store, exp, 'status = "Completed" and metrics.missing > 0') == []
    assert names(store, exp, 'metrics."val_acc" > 0.95 AND tags.model == "cnn"') == ["b"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("metrics.loss >", "ends at position 15"),
        ("metrics.loss ~ 1", "'~' at position 14"),
        ("foo.x = 1", "unknown field 'foo' at position 1"),
        ("metrics.loss = cnn", "'cnn' at position 16; expected a number or a quoted string"),
        ('(tags.a = "x"', "ends at position 14; expected ')'"),
        ("metrics.a < 1 metrics.b > 2", "'metrics' at position 15; expected 'and', 'or'"),
        ("min(tags.x) < 1", "min() at position 1 takes a metric"),
        ("", "empty"),
    ],
)
def test_errors_name_the_token_and_position(text: str, needle: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert needle in str(info.value)


def test_api_filters_and_answers_400(store: Store) -> None:
    ids = seed(store)
    srv: RunningServer = start_server(create_app(store, token="tok"))
    try:
        url = f"{srv.url}/api/experiments/{ids['experiment']}/runs"
        got = httpx.get(url, params={"filter": 'tags.model = "cnn"', "metrics": "val_acc"})
        assert got.status_code == 200
        body = got.json()
        assert body["total"] == 3
        assert all("val_acc" in body["summaries"][r["run_id"]] for r in body["runs"])
        bad = httpx.get(url, params={"filter": "metrics.val_acc >> 1"})
        assert bad.status_code == 400
        assert "'>' at position 18" in bad.json()["error"]["message"]
        page = httpx.get(
            f"{srv.url}/experiments/{ids['experiment']}", params={"filter": "tags.x = "}
        )
        assert page.status_code == 400
        assert "filter: ends at position 10" in page.text
    finally:
        srv.stop()


def test_cli_runs_list_filter(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from runyard.cli import cli
    from runyard.core import Experiment, Workspace

    def invoke(*args: str) -> tuple[int, str]:
        # run_cli prints a RunyardError as "error: ..."; CliRunner hands it back instead.
        result = CliRunner().invoke(cli, list(args))
        if isinstance(result.exception, FilterSyntaxError):
            return 1, f"error: {result.exception}"
        return result.exit_code, result.output

    assert invoke("init", str(tmp_path / "proj"), "--name", "proj")[0] == 0
    ws = Workspace.from_config(tmp_path / "proj")
    for i in range(3):
        run = Experiment(ws, "cli-filter").start_logging(display_name=f"r{i}")
        run.log("acc", 0.5 + i * 0.2)
        run.tag("model", "cnn" if i else "mlp")
        run.complete()
    w = str(ws.root)
    code, out = invoke(
        "-w", w, "runs", "list", "--filter", 'metrics.acc > 0.6 and tags.model = "cnn"', "--json"
    )
    assert code == 0, out
    assert sorted(r["display_name"] for r in json.loads(out)["runs"]) == ["r1", "r2"]
    code, out = invoke("-w", w, "runs", "list", "--filter", "metrics.acc >")
    assert code != 0
    assert "ends at position 14" in out
