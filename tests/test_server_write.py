"""The write API: every Store method an HttpStore needs, through real HTTP."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from runyard.entities import RunStatus
from runyard.server import create_app
from runyard.store.base import Store
from runyard.store.snapshots import canonical_manifest_id
from tests.support.server import RunningServer, open_test_store, start_server

TOKEN = "write-token"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("write"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(store, token=TOKEN))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as c:
        yield c


def ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def error_type(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    kind: str = resp.json()["error"]["type"]
    return kind


def new_run(client: httpx.Client, experiment: str = "exp-write", **fields: Any) -> dict[str, Any]:
    exp = ok(client.post("/api/experiments", json={"name": experiment}))
    body = {"experiment_id": exp["experiment_id"], "kind": "submitted", "status": "Queued"}
    run: dict[str, Any] = ok(client.post("/api/runs", json={**body, **fields}), 201)
    return run


def test_writes_need_the_bearer_token(server: RunningServer) -> None:
    url = server.url + "/api/experiments"
    assert error_type(httpx.post(url, json={"name": "x"}), 401) == "AuthError"
    wrong = {"Authorization": "Bearer nope"}
    assert error_type(httpx.post(url, json={"name": "x"}, headers=wrong), 401) == "AuthError"
    # A cookie is never enough for a write (cross-site requests would carry it).
    cookie = {"Cookie": f"runyard_token={TOKEN}"}
    assert error_type(httpx.post(url, json={"name": "x"}, headers=cookie), 401) == "AuthError"


def test_experiment_get_or_create_is_idempotent(store: Store, client: httpx.Client) -> None:
    a = ok(client.post("/api/experiments", json={"name": "exp-idem"}))
    b = ok(client.post("/api/experiments", json={"name": "exp-idem"}))
    assert a == b
    assert store.get_experiment(a["experiment_id"]).name == "exp-idem"
    assert ok(client.get("/api/experiments/by-name/exp-idem")) == a
    assert ok(client.get(f"/api/experiments/{a['experiment_id']}")) == a


def test_run_lifecycle(store: Store, client: httpx.Client) -> None:
    run = new_run(
        client,
        display_name="first",
        tags={"a": "1"},
        properties={"p": "x"},
        definition={
            "script": "train.py",
            "arguments": ["--lr", "0.1"],
            "limit": {"$float": "Infinity"},
        },
        owner="1@host",
    )
    run_id = run["run_id"]
    assert run["number"] >= 1 and run["status"] == "Queued"
    info = store.get_run(run_id)
    assert info.definition["limit"] == math.inf  # {"$float": ...} decoded on the way in
    assert info.owner == "1@host"

    resp = client.post(
        f"/api/runs/{run_id}/status", json={"status": "Running", "expected": ["Preparing"]}
    )
    assert error_type(resp, 409) == "ConflictError"
    running = ok(
        client.post(
            f"/api/runs/{run_id}/status", json={"status": "Running", "expected": ["Queued"]}
        )
    )
    assert running["status"] == "Running" and running["started_at"] is not None

    assert ok(client.post(f"/api/runs/{run_id}/heartbeat", json={"owner": "2@host"}), 204) is None
    assert store.get_run(run_id).heartbeat_at is not None
    ok(client.patch(f"/api/runs/{run_id}/tags", json={"tags": {"a": "2", "b": "3"}}), 204)
    assert dict(store.get_run(run_id).tags) == {"a": "2", "b": "3"}
    ok(client.post(f"/api/runs/{run_id}/properties", json={"properties": {"q": "y"}}), 204)
    resp = client.post(f"/api/runs/{run_id}/properties", json={"properties": {"p": "changed"}})
    assert error_type(resp, 409) == "ConflictError"
    patched = ok(
        client.patch(f"/api/runs/{run_id}/definition", json={"patch": {"env_hash": "abc"}})
    )
    assert patched["definition"]["env_hash"] == "abc"
    assert patched["definition"]["limit"] == {"$float": "Infinity"}

    done = ok(
        client.post(
            f"/api/runs/{run_id}/status", json={"status": "failed", "exit_code": 3, "error": "boom"}
        )
    )
    assert (done["status"], done["exit_code"], done["error"]) == ("Failed", 3, "boom")
    resp = client.post(f"/api/runs/{run_id}/status", json={"status": "Running"})
    assert error_type(resp, 409) == "ConflictError"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "Sleeping"},
        {"status": "Running", "surprise": 1},
        {"status": 5},
    ],
)
def test_bad_bodies_are_400(client: httpx.Client, body: dict[str, Any]) -> None:
    run = new_run(client)
    resp = client.post(f"/api/runs/{run['run_id']}/status", json=body)
    assert error_type(resp, 400) == "ValidationError"


def test_bad_json_is_400(client: httpx.Client) -> None:
    resp = client.post(
        "/api/experiments", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert error_type(resp, 400) == "ValidationError"


def test_claim_next_queued(client: httpx.Client) -> None:
    first = new_run(client, compute_target="claim-target")
    new_run(client, compute_target="claim-target")
    claimed = ok(client.post("/api/compute/claim-target/claim", json={"max_concurrent": 1}))
    assert claimed["run"]["run_id"] == first["run_id"]
    assert claimed["run"]["status"] == "Preparing"
    # The one slot is taken now.
    assert ok(client.post("/api/compute/claim-target/claim", json={"max_concurrent": 1})) == {
        "run": None
    }


NONFINITE = [{"$float": "NaN"}, {"$float": "Infinity"}, {"$float": "-Infinity"}]


def test_metrics_batches_keep_non_finite_floats(store: Store, client: httpx.Client) -> None:
    run_id = new_run(client, status="Running")["run_id"]
    body = {
        "columns": [
            {
                "key": "loss",
                "value_type": "float",
                "steps": [0, 1, 2, 3],
                "timestamps": [1.0, 2.0, 3.0, 4.0],
                "values": [0.5, *NONFINITE],
            },
            {
                "key": "note",
                "value_type": "str",
                "steps": [0],
                "timestamps": [1.0],
                "values": ["NaN"],
            },
        ],
        "records": [
            {"key": "row", "kind": "row", "payload": {"x": {"$float": "NaN"}}, "timestamp": 1.0}
        ],
        "journal_offset": 128,
    }
    ok(client.post(f"/api/runs/{run_id}/metrics", json=body), 204)
    values = list(store.get_metric_series(run_id, "loss").values)
    assert values[0] == 0.5 and math.isnan(float(values[1]))
    assert values[2:] == [math.inf, -math.inf]
    assert list(store.get_metric_series(run_id, "note").values) == ["NaN"]
    assert math.isnan(store.get_metric_records(run_id)[0].payload["x"])
    assert ok(client.get(f"/api/runs/{run_id}/journal-offset")) == {"offset": 128}
    # Read back the way an HttpStore would.
    series = ok(client.get(f"/api/runs/{run_id}/metrics/loss"))
    assert series["values"] == [0.5, *NONFINITE]
    # The string "NaN" is a string, never a float, whatever the metric's type.
    as_text = {**body["columns"][0], "steps": [4], "timestamps": [5.0], "values": ["NaN"]}
    resp = client.post(f"/api/runs/{run_id}/metrics", json={"columns": [as_text]})
    assert error_type(resp, 400) == "MetricTypeError"


def test_metric_batch_errors_write_nothing(store: Store, client: httpx.Client) -> None:
    run_id = new_run(client, status="Running")["run_id"]
    col = {"key": "m", "value_type": "float", "steps": [0], "timestamps": [1.0], "values": [1.0]}
    ok(client.post(f"/api/runs/{run_id}/metrics", json={"columns": [col]}), 204)
    as_str = {**col, "value_type": "str", "values": ["x"]}
    resp = client.post(f"/api/runs/{run_id}/metrics", json={"columns": [as_str]})
    assert error_type(resp, 400) == "MetricTypeError"
    uneven = {**col, "steps": [1, 2]}
    assert error_type(client.post(f"/api/runs/{run_id}/metrics", json={"columns": [uneven]}), 400)
    word = {**col, "values": ["lots"]}
    assert error_type(client.post(f"/api/runs/{run_id}/metrics", json={"columns": [word]}), 400)
    assert store.get_metric_summaries(run_id)["m"].count == 1
    resp = client.post("/api/runs/nope/metrics", json={"columns": [col]})
    assert error_type(resp, 404) == "RunNotFoundError"


def test_search_runs_takes_a_full_query(client: httpx.Client) -> None:
    parent = new_run(client, experiment="exp-search")
    child = new_run(client, experiment="exp-search", kind="child", parent_run_id=parent["run_id"])
    page = ok(client.post("/api/runs/search", json={"parent_run_id": parent["run_id"]}))
    assert [r["run_id"] for r in page["runs"]] == [child["run_id"]]
    assert page["total"] == 1


def test_environment_registry(client: httpx.Client) -> None:
    spec = {"python": "3.11", "pip": ["numpy"], "weight": math.nan}
    body = {
        "name": "env-w",
        "spec": json.loads(json.dumps(spec).replace("NaN", '{"$float": "NaN"}')),
        "spec_hash": "h1",
    }
    first = ok(client.post("/api/environments", json=body))
    again = ok(client.post("/api/environments", json=body))
    assert first["version"] == again["version"] == 1
    assert first["spec"]["weight"] == {"$float": "NaN"}
    second = ok(client.post("/api/environments", json={**body, "spec_hash": "h2"}))
    assert second["version"] == 2
    assert ok(client.get("/api/environments/env-w", params={"version": 1}))["spec_hash"] == "h1"


def test_files_upload_append_and_ranges(store: Store, client: httpx.Client) -> None:
    run_id = new_run(client, status="Running")["run_id"]
    ok(client.put(f"/api/runs/{run_id}/files/outputs/model.bin", content=b"\x00\x01" * 1000), 204)
    assert store.artifacts.read_bytes(run_id, "outputs/model.bin") == b"\x00\x01" * 1000
    for line in (b"one\n", b"two\n"):
        ok(
            client.post(f"/api/runs/{run_id}/files/system_logs/driver.log?append=1", content=line),
            204,
        )
    assert store.artifacts.read_bytes(run_id, "system_logs/driver.log") == b"one\ntwo\n"
    resp = client.post(f"/api/runs/{run_id}/files/x.log", content=b"x")
    assert error_type(resp, 400) == "ValidationError"
    ranged = client.get(
        f"/api/runs/{run_id}/files/system_logs/driver.log", params={"offset": 4, "length": 3}
    )
    assert ranged.content == b"two"
    files = ok(client.get(f"/api/runs/{run_id}/files"))["files"]
    assert [f["path"] for f in files] == ["outputs/model.bin", "system_logs/driver.log"]


def test_snapshot_upload_by_blob(store: Store, client: httpx.Client) -> None:
    content = b"print('hello')\n"
    sha = hashlib.sha256(content).hexdigest()
    bad = client.put(f"/api/blobs/{sha}", content=b"something else")
    assert error_type(bad, 400) == "ValidationError"
    manifest = {"train.py": {"sha256": sha, "size": len(content), "mode": 0o644}}
    snapshot_id = canonical_manifest_id(manifest)
    missing = client.put(f"/api/snapshots/{snapshot_id}", json={"files": manifest})
    assert error_type(missing, 400) == "ValidationError"
    ok(client.put(f"/api/blobs/{sha}", content=content), 204)
    wrong_id = client.put(f"/api/snapshots/{'0' * 64}", json={"files": manifest})
    assert error_type(wrong_id, 400) == "ValidationError"
    ok(client.put(f"/api/snapshots/{snapshot_id}", json={"files": manifest}), 204)
    assert ok(client.get(f"/api/snapshots/{snapshot_id}"))["files"] == manifest
    assert client.get(f"/api/snapshots/{snapshot_id}/files/train.py").content == content
    assert client.get(f"/api/blobs/{sha}").content == content
    assert error_type(client.get(f"/api/snapshots/{'1' * 64}"), 404) == "ArtifactNotFoundError"
    assert error_type(client.get(f"/api/snapshots/{snapshot_id}/files/nope.py"), 404)
    assert error_type(client.get(f"/api/blobs/{'2' * 64}"), 404) == "ArtifactNotFoundError"


def test_uploads_to_a_missing_run_are_404(client: httpx.Client) -> None:
    resp = client.put("/api/runs/nope/files/a.txt", content=b"x")
    assert error_type(resp, 404) == "RunNotFoundError"
    assert RunStatus.parse("queued") is RunStatus.QUEUED
