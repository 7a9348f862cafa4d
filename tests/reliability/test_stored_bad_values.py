"""Runs stored before submit checked arguments still read safely (issue 13 item 6).

Before the submit-time checks, a non-UTF-8 byte (kept as a lone surrogate), a lone
surrogate or a NUL in a CLI argument was stored in the run's definition, and from then
on ``/api/runs/ID``, the run page, the experiment's runs API and ``POST
/api/runs/search`` answered 500 for good (a surrogate cannot be encoded as UTF-8). The
read path now encodes such stored strings safely (a lone surrogate becomes its
``\\udcff`` escape), so every view answers 200 and shows the rest exactly.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import httpx

from runyard.core import Experiment, Workspace
from runyard.server import create_app
from tests.support.server import start_server

TOKEN = "stored-values-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BAD = ["ok", "\udcff-byte", "lone-\ud800", "nul-\x00-in", "tag \udce9"]


def test_runs_stored_with_bad_arguments_never_answer_500(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    run = Experiment(ws, "old-runs").start_logging()
    run.log("x", 1.0)
    run.complete()
    info = ws.store.get_run(run.id)
    definition = {**info.definition, "script": "train.py", "arguments": BAD}
    db = Path(str(ws.store.uri).removeprefix("sqlite:///"))
    # As an older Runyard wrote it: json.dumps keeps a surrogate as its \\u escape.
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "UPDATE runs SET definition = ? WHERE id = ?", (json.dumps(definition), run.id)
        )
    server = start_server(create_app(ws.store, token=TOKEN))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            one = client.get(f"/api/runs/{run.id}")
            page = client.get(f"/runs/{run.id}")
            listed = client.get(f"/api/experiments/{info.experiment_id}/runs")
            found = client.post("/api/runs/search", json={}, headers=AUTH)
            exp_page = client.get(f"/experiments/{info.experiment_id}")
    finally:
        server.stop()
        ws.close()
    for answer in (one, page, listed, found, exp_page):
        assert answer.status_code == 200, (answer.request.url, answer.text[:500])
    arguments = one.json()["definition"]["arguments"]
    assert arguments[0] == "ok" and arguments[3] == "nul-\x00-in"
    assert arguments[1] == "\\udcff-byte" and arguments[2] == "lone-\\ud800", arguments
    assert "\\udcff-byte" in found.text and "\\udcff-byte" in listed.text
