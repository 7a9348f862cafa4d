"""Request bodies are capped (issue 13 item 7): a JSON body over the limit gets a 413
naming the limit before it is read into memory, whether it declares its length or
streams; a body under it is served as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runyard.core import Workspace
from runyard.server import create_app
from runyard.server.app import MAX_JSON_BODY
from tests.support.server import RunningServer, start_server

TOKEN = "body-limit-" + "0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
MIB = 1024 * 1024


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    ws = Workspace.create(tmp_path / "ws")
    srv = start_server(create_app(ws.store, token=TOKEN))
    try:
        yield srv
    finally:
        srv.stop()
        ws.close()


def streamed(megabytes: int) -> Iterator[bytes]:
    yield b'{"name": "'
    for _ in range(megabytes):
        yield b"x" * MIB
    yield b'"}'


def check_refused(resp: httpx.Response) -> None:
    assert resp.status_code == 413, resp.text[:500]
    error = resp.json()["error"]
    assert error["type"] == "RequestTooLarge"
    assert f"limited to {MAX_JSON_BODY} bytes" in error["message"]


def test_a_json_body_over_the_limit_is_refused_by_its_length(server: RunningServer) -> None:
    body = b'{"name": "' + b"x" * (MAX_JSON_BODY + MIB) + b'"}'
    check_refused(httpx.post(server.url + "/api/experiments", content=body, headers=HEADERS))


def test_a_streamed_json_body_over_the_limit_is_refused(server: RunningServer) -> None:
    content = streamed(MAX_JSON_BODY // MIB + 2)
    check_refused(httpx.post(server.url + "/api/experiments", content=content, headers=HEADERS))


def test_a_body_under_the_limit_is_served(server: RunningServer) -> None:
    resp = httpx.post(server.url + "/api/experiments", json={"name": "ok"}, headers=HEADERS)
    assert resp.status_code == 200, resp.text
