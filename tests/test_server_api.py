"""The read API against a real uvicorn server over a real SQLite store."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runyard.entities import MetricColumns, MetricRecord, RunInfo, RunKind, RunStatus
from runyard.server import create_app
from runyard.store.base import Store
from runyard.store.sql import SqlStore
from tests.support.server import RunningServer, open_test_store, start_server

TOKEN = "test-token"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("api"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(store, token=TOKEN, workspace_name="ws"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def make_run(store: Store, experiment: str, **kwargs: Any) -> RunInfo:
    exp = store.get_or_create_experiment(experiment)
    kwargs.setdefault("kind", RunKind.INTERACTIVE)
    kwargs.setdefault("status", RunStatus.RUNNING)
    return store.create_run(exp.experiment_id, **kwargs)


def log(store: Store, run_id: str, key: str, values: list[Any], value_type: str = "float") -> None:
    now = time.time()
    n = len(values)
    store.append_metrics(
        run_id,
        [MetricColumns(key, value_type, list(range(n)), [now + i for i in range(n)], values)],
    )


def error_of(resp: httpx.Response) -> dict[str, str]:
    body = resp.json()
    assert set(body) == {"error"}, body
    error: dict[str, str] = body["error"]
    return error


def test_experiments_list_counts_runs_by_status(store: Store, client: httpx.Client) -> None:
    a = make_run(store, "exp-list")
    make_run(store, "exp-list")
    store.set_status(a.run_id, RunStatus.COMPLETED)
    resp = client.get("/api/experiments")
    assert resp.status_code == 200
    (exp,) = [e for e in resp.json()["experiments"] if e["name"] == "exp-list"]
    assert exp["run_count"] == 2
    assert exp["status_counts"] == {"Completed": 1, "Running": 1}
    assert exp["last_run_at"] is not None


def test_runs_list_pages_sorts_and_filters(store: Store, client: httpx.Client) -> None:
    runs = [make_run(store, "exp-runs", tags={"lr": str(i % 2)}) for i in range(7)]
    for i, run in enumerate(runs):
        log(store, run.run_id, "loss", [10.0 - i, 5.0 - i])
    store.set_status(runs[0].run_id, RunStatus.FAILED)
    exp_id = runs[0].experiment_id

    page = client.get(
        f"/api/experiments/{exp_id}/runs",
        params={"sort": "metric:loss:min", "order": "asc", "limit": 3, "metrics": "loss"},
    ).json()
    assert page["total"] == 7
    assert [r["run_id"] for r in page["runs"]] == [r.run_id for r in reversed(runs[-3:])]
    first = page["runs"][0]["run_id"]
    assert page["summaries"][first]["loss"]["min"] == 5.0 - 6
    assert page["summaries"][first]["loss"]["count"] == 2

    second = client.get(
        f"/api/experiments/{exp_id}/runs",
        params={"sort": "metric:loss:min", "order": "asc", "limit": 3, "offset": 3},
    ).json()
    assert [r["run_id"] for r in second["runs"]] == [r.run_id for r in reversed(runs[1:4])]

    failed = client.get(f"/api/experiments/{exp_id}/runs", params={"status": "failed"}).json()
    assert [r["run_id"] for r in failed["runs"]] == [runs[0].run_id]
    tagged = client.get(f"/api/experiments/{exp_id}/runs", params={"tag": "lr:1"}).json()
    assert tagged["total"] == 3


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"order": "sideways"}, "order"),
        ({"status": "Sleeping"}, "Sleeping"),
        ({"tag": "x"}, "key:value"),
    ],
)
def test_runs_list_rejects_bad_parameters(
    store: Store, client: httpx.Client, params: dict[str, str], needle: str
) -> None:
    exp = store.get_or_create_experiment("exp-bad-params")
    resp = client.get(f"/api/experiments/{exp.experiment_id}/runs", params=params)
    assert resp.status_code == 400
    assert needle in error_of(resp)["message"]


def test_unknown_things_are_404_with_the_error_type(client: httpx.Client) -> None:
    resp = client.get("/api/runs/no-such-run")
    assert resp.status_code == 404
    assert error_of(resp)["type"] == "RunNotFoundError"
    resp = client.get("/api/experiments/no-such-experiment/runs")
    assert resp.status_code == 404
    assert error_of(resp)["type"] == "ExperimentNotFoundError"
    resp = client.get("/api/no/such/endpoint")
    assert resp.status_code == 404
    assert error_of(resp)["type"] == "NotFoundError"
    assert client.get("/api/experiments/by-name/nobody").status_code == 404


def test_run_and_children(store: Store, client: httpx.Client) -> None:
    parent = make_run(store, "exp-children", display_name="parent", definition={"script": "t.py"})
    kids = [
        make_run(store, "exp-children", kind=RunKind.CHILD, parent_run_id=parent.run_id)
        for _ in range(2)
    ]
    run = client.get(f"/api/runs/{parent.run_id}").json()
    assert run["display_name"] == "parent"
    assert run["definition"] == {"script": "t.py"}
    assert run["status"] == "Running"
    children = client.get(f"/api/runs/{parent.run_id}/children").json()
    assert [r["run_id"] for r in children["runs"]] == [k.run_id for k in kids]


def test_metric_series_down_samples_and_keeps_non_finite_values(
    store: Store, client: httpx.Client
) -> None:
    run = make_run(store, "exp-series")
    values = [float(i) for i in range(10_000)]
    values[5] = math.nan
    values[6] = math.inf
    values[7] = -math.inf
    log(store, run.run_id, "train/loss", values)

    summaries = client.get(f"/api/runs/{run.run_id}/metrics").json()["metrics"]
    assert summaries["train/loss"]["count"] == 10_000
    assert summaries["train/loss"]["value_type"] == "float"

    full = client.get(f"/api/runs/{run.run_id}/metrics/train/loss", params={"start": 4}).json()
    nonfinite = [{"$float": "NaN"}, {"$float": "Infinity"}, {"$float": "-Infinity"}]
    assert full["values"][:4] == [4.0, *nonfinite]
    assert full["steps"][0] == 4
    assert full["total_count"] == 10_000

    small = client.get(
        f"/api/runs/{run.run_id}/metrics/train/loss", params={"max_points": 200}
    ).json()
    assert small["downsampled"] is True
    assert 2 <= len(small["values"]) <= 200
    assert small["steps"][0] == 0 and small["steps"][-1] == 9_999


def test_one_metric_of_many_runs_in_one_request(store: Store, client: httpx.Client) -> None:
    a, b, quiet = (make_run(store, "exp-batch") for _ in range(3))
    log(store, a.run_id, "acc", [float(i) for i in range(5_000)])
    log(store, b.run_id, "acc", [2**60 + 1, 3], value_type="int")
    ids = [a.run_id, "no-such-run", b.run_id, quiet.run_id]
    got = client.get("/api/series", params={"key": "acc", "runs": ",".join(ids), "max_points": 100})
    assert got.status_code == 200, got.text
    first, missing, exact, empty = got.json()["series"]
    one = client.get(f"/api/runs/{a.run_id}/metrics/acc", params={"max_points": 100}).json()
    assert first == one and first["downsampled"] is True  # as the one-run answer, exactly
    assert missing is None
    assert exact["values"] == [2**60 + 1, 3] and exact["value_type"] == "int"
    assert empty["steps"] == [] and empty["total_count"] == 0
    zoom = client.get(
        "/api/series",
        params={"key": "acc", "runs": a.run_id, "step_min": 10, "step_max": 19},
    ).json()["series"][0]
    assert zoom["steps"] == list(range(10, 20))
    for runs in ("", ",".join(["r"] * 101)):
        bad = client.get("/api/series", params={"key": "acc", "runs": runs})
        assert bad.status_code == 400 and "give 1 to 100 run ids" in error_of(bad)["message"]


def test_string_metrics_and_records(store: Store, client: httpx.Client) -> None:
    run = make_run(store, "exp-records")
    log(store, run.run_id, "phase", ["warmup", "NaN"], value_type="str")
    store.append_metrics(
        run.run_id,
        [],
        [MetricRecord("scores", "table", {"a": [1.0, math.nan], "b": ["x", "NaN"]}, time.time())],
    )
    series = client.get(f"/api/runs/{run.run_id}/metrics/phase").json()
    assert series["value_type"] == "str"
    assert series["values"] == ["warmup", "NaN"]
    records = client.get(f"/api/runs/{run.run_id}/records").json()["records"]
    assert records[0]["payload"] == {"a": [1.0, {"$float": "NaN"}], "b": ["x", "NaN"]}
    assert client.get(f"/api/runs/{run.run_id}/records", params={"key": "none"}).json() == {
        "records": []
    }


def test_environments(store: Store, client: httpx.Client) -> None:
    store.register_environment("env-a", {"pip": ["numpy"]}, "h1")
    store.register_environment("env-a", {"pip": ["numpy", "pandas"]}, "h2")
    envs = client.get("/api/environments").json()["environments"]
    assert [(e["name"], e["version"]) for e in envs if e["name"] == "env-a"] == [
        ("env-a", 1),
        ("env-a", 2),
    ]
    assert client.get("/api/environments/env-a").json()["spec_hash"] == "h2"
    assert client.get("/api/environments/env-a", params={"version": 1}).json()["spec_hash"] == "h1"
    resp = client.get("/api/environments/env-zzz")
    assert resp.status_code == 404
    assert error_of(resp)["type"] == "EnvironmentNotFoundError"


def test_openapi_schema_is_served_without_cdn_pages(client: httpx.Client) -> None:
    schema = client.get("/api/openapi.json").json()
    assert "/api/runs/{run_id}/metrics/{key}" in schema["paths"]
    assert "/api/runs/{run_id}/stream" in schema["paths"]
    assert client.get("/docs").status_code == 404


class BrokenStore(SqlStore):
    """A real store with one method that fails the way a bug would."""

    def list_experiments(self) -> Any:
        raise RuntimeError("secret internal detail")


def test_unexpected_errors_are_a_generic_500_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    real = open_test_store(tmp_path)
    assert isinstance(real, SqlStore)
    real.close()
    from runyard.store.artifacts import LocalArtifactRepository

    broken = BrokenStore(
        "sqlite:///" + str(tmp_path / "runyard.db"), LocalArtifactRepository(tmp_path / "a")
    )
    srv = start_server(create_app(broken, token=TOKEN))
    try:
        with caplog.at_level(logging.ERROR, logger="runyard.server"):
            for path in ("/api/experiments", "/"):
                resp = httpx.get(srv.url + path, timeout=10)
                assert resp.status_code == 500
                assert "secret" not in resp.text
                assert "Traceback" not in resp.text
            assert error_of(httpx.get(srv.url + "/api/experiments"))["type"] == (
                "InternalServerError"
            )
        assert any("secret internal detail" in r.getMessage() or r.exc_info for r in caplog.records)
    finally:
        srv.stop()
        broken.close()
