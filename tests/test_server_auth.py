"""The security model: who may read and write, the browser cookie, the bind check,
and headers that keep stored data from running as part of the studio."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runyard.entities import RunKind, RunStatus
from runyard.errors import ConfigError
from runyard.server import check_bind, create_app, is_loopback_host, serve
from runyard.store.base import Store
from tests.support.server import RunningServer, open_test_store, start_server

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("auth"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def open_server(store: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(store, token=TOKEN))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def locked_server(store: Store) -> Iterator[RunningServer]:
    srv = start_server(create_app(store, token=TOKEN, require_token_for_reads=True))
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.4", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_non_loopback_bind_without_token_is_refused_before_binding(store: Store) -> None:
    with pytest.raises(ConfigError, match="without an access token"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ConfigError, match="token"):
        serve(store, host="0.0.0.0", port=1, token=None)
    assert check_bind("0.0.0.0", "a-strong-token-0123") is False
    with pytest.raises(ConfigError, match="at least 16 characters"):
        check_bind("0.0.0.0", "tok")  # a short token on an open address is guessable
    assert check_bind("127.0.0.1", None) is True


def test_reads_are_open_on_loopback_and_writes_are_not(open_server: RunningServer) -> None:
    assert httpx.get(open_server.url + "/api/experiments").status_code == 200
    assert httpx.get(open_server.url + "/").status_code == 200
    resp = httpx.post(open_server.url + "/api/experiments", json={"name": "x"})
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "AuthError"
    assert "Bearer" in resp.json()["error"]["message"]


def test_a_wrong_token_is_refused_even_for_open_reads(open_server: RunningServer) -> None:
    resp = httpx.get(open_server.url + "/api/experiments", headers={"Authorization": "Bearer x"})
    assert resp.status_code == 401


def test_reads_at_a_foreign_host_name_need_the_token(open_server: RunningServer) -> None:
    # A page on evil.example that rebinds its name to 127.0.0.1 sends this Host.
    headers = {"Host": "evil.example:8765"}
    resp = httpx.get(open_server.url + "/api/experiments", headers=headers)
    assert resp.status_code == 401
    authed = {**headers, "Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(open_server.url + "/api/experiments", headers=authed).status_code == 200


def test_locked_server_needs_the_token_for_every_read(locked_server: RunningServer) -> None:
    url = locked_server.url
    for path in ("/api/experiments", "/", "/api/runs/x"):
        assert httpx.get(url + path).status_code == 401, path
    page = httpx.get(url + "/")
    assert "text/html" in page.headers["content-type"]
    assert "?token=" in page.text
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(url + "/api/experiments", headers=bearer).status_code == 200
    # Static assets carry nothing secret and style the "token needed" page.
    assert httpx.get(url + "/static/studio.css").status_code == 200


def test_token_in_the_url_sets_an_httponly_cookie_once(locked_server: RunningServer) -> None:
    with httpx.Client(base_url=locked_server.url) as browser:
        resp = browser.get("/", params={"token": TOKEN, "x": "1"})
        assert resp.status_code == 303
        assert resp.headers["location"] == "/?x=1"  # the token leaves the address bar
        cookie = resp.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert browser.get("/").status_code == 200
        assert browser.get("/api/experiments").status_code == 200
        # The cookie authorises reads only.
        assert browser.post("/api/experiments", json={"name": "x"}).status_code == 401
        wrong = browser.get("/", params={"token": "wrong"})
        assert wrong.status_code == 401


def test_security_headers(open_server: RunningServer) -> None:
    resp = httpx.get(open_server.url + "/")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"


def test_stored_html_is_downloaded_not_rendered(store: Store, open_server: RunningServer) -> None:
    exp = store.get_or_create_experiment("exp-auth-files")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    store.artifacts.put_bytes(run.run_id, "outputs/page.html", b"<script>alert(1)</script>")
    store.artifacts.put_bytes(run.run_id, "outputs/plot.png", b"\x89PNG\r\n")
    resp = httpx.get(f"{open_server.url}/api/runs/{run.run_id}/files/outputs/page.html")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/octet-stream"
    assert resp.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in resp.headers["content-security-policy"]
    png = httpx.get(f"{open_server.url}/api/runs/{run.run_id}/files/outputs/plot.png")
    assert png.headers["content-type"] == "image/png"
    assert png.headers["content-disposition"].startswith("inline")


@pytest.mark.parametrize(
    "path",
    ["..%2F..%2Fsecret.txt", "outputs/..%2F..%2F..%2Fsecret.txt", "%2Fetc%2Fpasswd", "a%00b"],
)
def test_file_paths_cannot_leave_the_run_folder(
    store: Store, open_server: RunningServer, path: str
) -> None:
    exp = store.get_or_create_experiment("exp-traversal")
    run = store.create_run(exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.RUNNING)
    url = f"{open_server.url}/api/runs/{run.run_id}/files/{path}"
    resp = httpx.get(url)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["type"] == "ValidationError"
    put = httpx.put(url, content=b"x", headers={"Authorization": f"Bearer {TOKEN}"})
    assert put.status_code == 400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_runs_uvicorn_and_prints_where(tmp_path: Path) -> None:
    store = open_test_store(tmp_path)
    store.close()
    port = _free_port()
    code = (
        "from pathlib import Path; from runyard.store import open_store; "
        "from runyard.server import serve; "
        f"s = open_store('sqlite:///' + {str(tmp_path / 'runyard.db')!r}, "
        f"artifact_root=Path({str(tmp_path / 'artifacts')!r})); "
        f"serve(s, port={port}, token='tok')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/api/experiments", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "the studio did not answer in time"
                time.sleep(0.05)
        assert resp.status_code == 200
        write = httpx.post(
            f"http://127.0.0.1:{port}/api/experiments",
            json={"name": "served"},
            headers={"Authorization": "Bearer tok"},
        )
        assert write.status_code == 200
    finally:
        proc.terminate()  # our own child, by its pid
        out = proc.communicate(timeout=20)[0].decode()
    assert f"http://127.0.0.1:{port}/" in out
