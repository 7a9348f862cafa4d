"""Security of the studio: its defaults and its token, every file route against path
traversal (encoded, double-encoded, through symlinks), stored markup rendered inert,
no traceback in any error answer, and no way from one workspace's studio into another
workspace's files. Every server here listens on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import re
import secrets
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from runyard.core import Experiment, ScriptRunConfig, Workspace
from runyard.entities import RunKind, RunStatus
from runyard.server import create_app, serve
from runyard.server.auth import TokenAuthMiddleware
from runyard.store.base import Store
from runyard.store.snapshots import SnapshotStore
from tests.reliability.harness import free_port, wait_for
from tests.support.server import RunningServer, start_server

TOKEN = "security-" + secrets.token_urlsafe(24)
SECRET = "TOP-SECRET-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two workspaces side by side. A has a finished run with files and a snapshot; B
    (another project) holds a secret file in a run of its own. Outside both sits a
    secret file too. The studio under test serves A."""
    base = tmp_path_factory.mktemp("security")
    (base / "secret.txt").write_text(SECRET)
    a = Workspace.create(base / "a", name="a")
    b = Workspace.create(base / "b", name="b")
    run_a = Experiment(a, "exp-a").start_logging()
    run_a.log("loss", 0.5)
    (base / "model.txt").write_text("weights")
    run_a.upload_file("outputs/model.txt", base / "model.txt")
    run_a.complete()
    run_b = Experiment(b, "exp-b").start_logging()
    (base / "b-secret.txt").write_text(SECRET + "-b")
    run_b.upload_file("outputs/secret.txt", base / "b-secret.txt")
    run_b.complete()
    src = base / "src"
    src.mkdir()
    (src / "train.py").write_text("print(1)\n")
    snap_a = SnapshotStore(a.artifact_root / "snapshots").capture(src).snapshot_id
    (base / "src-b").mkdir()
    (base / "src-b" / "keys.py").write_text(f"KEY = {SECRET!r}\n")
    snap_b = SnapshotStore(b.artifact_root / "snapshots").capture(base / "src-b").snapshot_id
    server = start_server(create_app(a.store, token=TOKEN))
    try:
        yield {
            "base": base,
            "a": a,
            "b": b,
            "run_a": run_a.id,
            "run_b": run_b.id,
            "exp_a": run_a.info.experiment_id,
            "snap_a": snap_a,
            "snap_b": snap_b,
            "server": server,
        }
    finally:
        server.stop()
        a.close()
        b.close()


def files_under(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its content (to notice any write)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("runyard.db"):
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def raw_request(url: str, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    """A request whose path goes out exactly as written (httpx would normalise dots)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"} if method != "GET" else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


# -- the studio's defaults ---------------------------------------------------------------


def test_the_studio_binds_loopback_and_makes_a_write_token_by_default(tmp_path: Path) -> None:
    """`runyard studio` with no options: listens on 127.0.0.1 only, prints a fresh
    write token, answers reads, refuses writes without that token."""
    ws = Workspace.create(tmp_path / "ws", name="defaults")
    ws.close()
    port = free_port()
    log = tmp_path / "studio.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runyard.cli", "-w", str(tmp_path / "ws"), "studio",
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k != "RUNYARD_TOKEN"},
        )  # fmt: skip
    try:
        printed = wait_for(
            lambda: re.search(r"write token \(Authorization: Bearer\): (\S+)", log.read_text()),
            60,
            "the studio to print its token",
        )
        token = printed.group(1)
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return httpx.get(url + "/api/experiments", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, 60, "the studio to answer")
        listening = {
            c.laddr.ip
            for c in psutil.Process(proc.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        }
        assert listening == {"127.0.0.1"}
        assert len(token) >= 32 and token not in (TOKEN, "")
        body = {"name": "written"}
        assert httpx.post(url + "/api/experiments", json=body).status_code == 401
        bad = {"Authorization": "Bearer " + token[:-1] + ("x" if token[-1] != "x" else "y")}
        assert httpx.post(url + "/api/experiments", json=body, headers=bad).status_code == 401
        good = {"Authorization": f"Bearer {token}"}
        assert httpx.post(url + "/api/experiments", json=body, headers=good).status_code == 200
    finally:
        proc.terminate()  # our own child, by its pid
        proc.wait(30)


def route_requests(server: RunningServer, world: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, path) for every operation of the REST API (from the schema the studio
    serves) and every page, parameters filled with real ids."""
    values = {
        "run_id": world["run_a"],
        "experiment_id": world["exp_a"],
        "path": "outputs/model.txt",
        "key": "loss",
        "name": "exp-a",
        "snapshot_id": world["snap_a"],
        "sha256": "0" * 64,
        "compute_target": "local",
        "dataset_id": "no-such-dataset",
        "version": "1",
        "alias": "champion",
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    schema = httpx.get(server.url + "/api/openapi.json", headers=headers, timeout=30).json()
    out = [("GET", "/api/openapi.json")]
    for template, operations in schema["paths"].items():
        path = re.sub(r"\{(\w+)(:path)?\}", lambda m: values[m.group(1)], template)
        out += [(method.upper(), path) for method in operations]
    out += [
        ("GET", "/"),
        ("GET", f"/experiments/{world['exp_a']}"),
        ("GET", f"/runs/{world['run_a']}"),
        ("GET", f"/compare?runs={world['run_a']}"),
        ("GET", f"/api/runs/{world['run_a']}/stream"),
    ]
    return out


def test_a_non_loopback_studio_refuses_every_request_without_the_token(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `serve` builds for a non-loopback address, run here on 127.0.0.1: every
    route, read or write, refuses a request without the token or with a wrong one."""
    import uvicorn

    built: dict[str, Any] = {}
    # Only uvicorn's blocking run is replaced: the app serve() builds is kept and served
    # on loopback below, so no test ever listens on another address.
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: built.update(app=app, **kwargs))
    serve(world["a"].store, host="192.0.2.7", port=8765, token=TOKEN)
    assert built["host"] == "192.0.2.7"
    server = start_server(built["app"])
    try:
        requests = route_requests(server, world)
        assert len(requests) >= 30
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for method, path in requests:
                for headers in ({}, {"Authorization": "Bearer wrong"}):
                    resp = client.request(method, path, headers=headers)
                    assert resp.status_code == 401, (method, path, headers, resp.text[:300])
                    assert "Traceback" not in resp.text
                resp = client.request(method, path, params={"token": "wrong"})
                assert resp.status_code == 401, (method, path)
            # The right token opens them (reads at least; writes get past the check).
            for method, path in requests:
                if method == "GET" and not path.endswith("/stream"):
                    resp = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
                    assert resp.status_code != 401, (path, resp.text[:300])
    finally:
        server.stop()


def test_tokens_are_compared_with_hmac_compare_digest(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every token a request carries (header, ?token=, cookie) goes through
    hmac.compare_digest, the constant-time comparison."""
    seen: list[bytes] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append(bytes(a) if isinstance(a, (bytes, bytearray)) else str(a).encode())
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    server = start_server(create_app(world["a"].store, token=TOKEN, require_token_for_reads=True))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            client.get("/api/experiments", headers={"Authorization": "Bearer header-guess"})
            client.get("/api/experiments", params={"token": "query-guess"})
            client.get("/api/experiments", headers={"Cookie": "runyard_token=cookie-guess"})
            client.post("/api/experiments", json={"name": "x"},
                        headers={"Authorization": "Bearer write-guess"})  # fmt: skip
    finally:
        server.stop()
    for guess in (b"header-guess", b"query-guess", b"cookie-guess", b"write-guess"):
        assert guess in seen, f"{guess!r} was not compared with hmac.compare_digest"


def test_token_checks_take_as_long_whatever_the_guess() -> None:
    """A wrong guess that shares a long prefix with the token is not rejected more
    slowly than one that differs at once (a plain == would leak the prefix length)."""
    token = "t" * 65536
    middleware = TokenAuthMiddleware(lambda *a: None, token=token, require_token_for_reads=True)  # type: ignore[arg-type]
    early = "x" + token[1:]
    late = token[:-1] + "x"

    def timed(guess: str) -> float:
        started = time.perf_counter()
        for _ in range(20):
            middleware._valid(guess)
        return time.perf_counter() - started

    ratios = []
    for _ in range(300):  # interleaved, so that load changes hit both alike
        ratios.append(timed(late) / timed(early))
    assert 0.7 < statistics.median(ratios) < 1.4, statistics.median(ratios)


# -- path traversal ----------------------------------------------------------------------

TRAVERSALS = [
    "../../../../../../etc/passwd",
    "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt",
    "..%5c..%5c..%5c..%5c..%5csecret.txt",
    "..\\..\\..\\..\\..\\secret.txt",
    "%252e%252e%252f%252e%252e%252fsecret.txt",
    "outputs/../../../../../../secret.txt",
    "outputs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "....//....//....//secret.txt",
    "%2Fetc%2Fpasswd",
    "%2F%2Fetc%2Fpasswd",
    "outputs%00/../../secret.txt",
    "%E2%80%A5/%E2%80%A5/secret.txt",
    "%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",
]


def file_route_paths(world: dict[str, Any], attack: str) -> list[tuple[str, str]]:
    run, snap = world["run_a"], world["snap_a"]
    return [
        ("GET", f"/api/runs/{run}/files/{attack}"),
        ("PUT", f"/api/runs/{run}/files/{attack}"),
        ("POST", f"/api/runs/{run}/files/{attack}?append=1"),
        ("GET", f"/api/snapshots/{snap}/files/{attack}"),
        ("GET", f"/api/runs/{attack}/files/outputs/model.txt"),
        ("GET", f"/api/blobs/{attack}"),
        ("GET", f"/api/snapshots/{attack}"),
        ("GET", f"/runs/{attack}"),
    ]


@pytest.mark.parametrize("attack", TRAVERSALS)
def test_no_file_route_leaves_the_run_folder(world: dict[str, Any], attack: str) -> None:
    base: Path = world["base"]
    before = files_under(base)
    for method, path in file_route_paths(world, attack):
        body = b"written by an attacker" if method != "GET" else None
        status, text = raw_request(world["server"].url, method, path, body)
        assert SECRET not in text and "root:x:0:0" not in text, (method, path)
        assert "Traceback" not in text
        if method != "GET" and status < 300:
            # A write that was accepted must have landed inside the run's own files.
            written = set(files_under(base)) - set(before)
            run_files = world["a"].store.artifacts.run_dir(world["run_a"]) / "files"
            assert all(Path(p).is_relative_to(run_files) for p in written), (path, written)
        else:
            assert status in (400, 404, 405), (method, path, status, text[:200])
    changed = {p for p, h in files_under(base).items() if before.get(p) not in (None, h)}
    assert not changed, changed


def test_symlinks_inside_a_run_do_not_lead_out(world: dict[str, Any]) -> None:
    """A script (or anyone with the disk) left links in the run's folder: to a secret
    file, and to another workspace's folder. The studio neither reads nor writes
    through them."""
    store: Store = world["a"].store
    files = store.artifacts.run_dir(world["run_a"]) / "files" / "outputs"  # type: ignore[attr-defined]
    (files / "link.txt").symlink_to(world["base"] / "secret.txt")
    b_files = world["b"].store.artifacts.run_dir(world["run_b"]) / "files"
    (files / "other-workspace").symlink_to(b_files)
    try:
        before = files_under(world["base"])
        url, run = world["server"].url, world["run_a"]
        for method, path in [
            ("GET", f"/api/runs/{run}/files/outputs/link.txt"),
            ("GET", f"/api/runs/{run}/files/outputs/other-workspace/outputs/secret.txt"),
            ("PUT", f"/api/runs/{run}/files/outputs/other-workspace/outputs/planted.txt"),
            ("POST", f"/api/runs/{run}/files/outputs/other-workspace/outputs/secret.txt?append=1"),
            ("GET", f"/api/runs/{run}/files/outputs/link.txt?offset=1&length=5"),
        ]:
            status, text = raw_request(url, method, path, b"x" if method != "GET" else None)
            assert status == 400, (method, path, status, text[:300])
            assert SECRET not in text
        assert files_under(world["base"]) == before
        listing = httpx.get(f"{url}/api/runs/{run}/files").json()["files"]
        # The link to the other workspace's folder is not walked into.
        assert not any(f["path"].startswith("outputs/other-workspace/") for f in listing)
    finally:
        (files / "link.txt").unlink()
        (files / "other-workspace").unlink()


# -- stored markup -----------------------------------------------------------------------

PAYLOADS = [
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(2)</script>",
    "<svg onload=alert(3)>",
    "javascript:alert(4)",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "{{7*7}}{% raw %}",
    "<iframe src=https://evil.example></iframe>",
]


class Elements(HTMLParser):
    """Every element and attribute of a page, as parsed (what a browser would build)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def assert_inert(page: str, where: str) -> None:
    parser = Elements()
    parser.feed(page)
    for tag, attrs in parser.found:
        assert tag not in ("iframe", "svg", "object", "embed", "base"), (where, tag)
        assert not (tag == "meta" and "http-equiv" in attrs), (where, attrs)
        assert not (
            tag == "script" and "src" not in attrs and attrs.get("type") != "application/json"
        ), where
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (where, tag)
        assert not (tag == "img" and attrs.get("src") == "x"), where


def test_stored_markup_is_rendered_inert(world: dict[str, Any], tmp_path: Path) -> None:
    """Markup in every string a user or a script controls, shown on every page."""
    store: Store = world["a"].store
    exp = store.get_or_create_experiment("markup")
    run_ids = []
    for i, payload in enumerate(PAYLOADS):
        run = store.create_run(
            exp.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.QUEUED,
            display_name=payload,
            tags={payload[:200]: payload, "note": payload},
            properties={"p": payload},
            definition={"script": payload, "arguments": [payload], "source_directory": payload},
            compute_target=f"target{i}",
        )
        store.set_status(run.run_id, RunStatus.PREPARING)
        store.set_status(run.run_id, RunStatus.FAILED, error=f"Traceback? no: {payload}")
        journal = store.artifacts.journal_path(run.run_id)  # type: ignore[attr-defined]
        from runyard.tracking.ingest import JournalIngester
        from runyard.tracking.journal import JournalWriter

        writer = JournalWriter(journal)
        writer.log(f"m{i}{payload}"[:200], 1.0)
        writer.log("text", payload)
        writer.log_record(f"r{i}", "row", {payload: payload})
        writer.close()
        JournalIngester(store, run.run_id, journal).drain()
        name = f"outputs/{payload.replace('/', '_')[:80]}.html"
        store.artifacts.put_bytes(run.run_id, name, payload.encode())
        run_ids.append(run.run_id)
    url = world["server"].url
    pages = ["/", f"/experiments/{exp.experiment_id}", f"/compare?runs={','.join(run_ids[:5])}"]
    pages += [f"/runs/{r}" for r in run_ids]
    pages += [f"/experiments/{exp.experiment_id}?q=%3Cscript%3Ealert(5)%3C/script%3E"]
    for page in pages:
        resp = httpx.get(url + page, timeout=30)
        assert resp.status_code == 200, (page, resp.text[:300])
        assert resp.headers["content-type"].startswith("text/html")
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
        assert_inert(resp.text, page)
        # Escaped text may read "onerror=alert"; a raw "<" before the markup may not.
        for raw in ("<script>alert", "<img src=x", "<svg", "<iframe", "<meta http"):
            at = resp.text.find(raw)
            assert at < 0, (page, resp.text[max(0, at - 300) : at + 80])
    # Files a script wrote are downloads, never pages of the studio.
    for run_id in run_ids:
        for info in store.artifacts.list_files(run_id):
            resp = httpx.get(f"{url}/api/runs/{run_id}/files/{info.path}")
            assert resp.headers["content-type"] == "application/octet-stream"
            assert resp.headers["content-disposition"].startswith("attachment")
            assert "sandbox" in resp.headers["content-security-policy"]


# -- no traceback in any error answer ----------------------------------------------------

LEAKS = ("Traceback", 'File "/', "site-packages", "/src/runyard/", "sqlalchemy", "sqlite3.")


def test_no_error_answer_carries_a_traceback(world: dict[str, Any], tmp_path: Path) -> None:
    """Errors of every kind, including an unexpected one (a run whose stored definition
    was corrupted on disk): JSON under /api/, a small page elsewhere, never a trace."""
    ws = Workspace.create(tmp_path / "ws", name="broken")
    run = Experiment(ws, "e").start_logging()
    run.complete()
    ws.close()
    db = tmp_path / "ws" / ".runyard" / "runyard.db"
    with sqlite3.connect(db) as conn:  # damage the row behind the store's back
        conn.execute("UPDATE runs SET definition = '{not json' WHERE id = ?", (run.id,))
    broken = Workspace.from_config(tmp_path / "ws")
    server = start_server(create_app(broken.store, token=TOKEN))
    try:
        cases = [
            ("GET", f"/api/runs/{run.id}", 500),
            ("GET", f"/runs/{run.id}", 500),
            ("GET", "/api/runs/nope", 404),
            ("GET", "/runs/nope", 404),
            ("GET", "/api/nope", 404),
            ("DELETE", "/api/experiments", 405),
            ("POST", "/api/experiments", 400),
            ("GET", "/api/runs/x/files/..%2F..%2Fsecret", 400),
            ("GET", "/compare", 400),
        ]
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for method, path, status in cases:
                headers = {"Authorization": f"Bearer {TOKEN}"} if method != "GET" else {}
                resp = client.request(method, path, headers=headers, content=b"{broken")
                assert resp.status_code == status, (path, resp.status_code, resp.text[:300])
                for leak in LEAKS:
                    assert leak not in resp.text, (path, leak, resp.text[:500])
                if path.startswith("/api/"):
                    error = resp.json()["error"]
                    assert error["type"] and error["message"]
                else:
                    assert resp.headers["content-type"].startswith("text/html")
            unauth = client.post("/api/experiments", json={"name": "x"})
            assert unauth.status_code == 401 and "Traceback" not in unauth.text
    finally:
        server.stop()
        broken.close()


# -- one workspace's studio, another workspace's files -----------------------------------


def test_a_studio_cannot_reach_another_workspaces_runs(world: dict[str, Any]) -> None:
    url, run_a, run_b = world["server"].url, world["run_a"], world["run_b"]
    b_root = world["b"].root
    before = files_under(world["base"])
    escape = f"..%2F..%2F..%2F..%2F..%2Fb%2F.runyard%2Fartifacts%2Fruns%2F{run_b}"
    blob = hashlib.sha256((SECRET + "-b").encode()).hexdigest()
    attempts = [
        ("GET", f"/api/runs/{run_b}"),
        ("GET", f"/api/runs/{run_b}/files"),
        ("GET", f"/api/runs/{run_b}/files/outputs/secret.txt"),
        ("GET", f"/api/runs/{run_b}/stream"),
        ("GET", f"/runs/{run_b}"),
        ("PUT", f"/api/runs/{run_b}/files/outputs/planted.txt"),
        ("POST", f"/api/runs/{run_b}/files/outputs/secret.txt?append=1"),
        ("PATCH", f"/api/runs/{run_b}/tags"),
        ("GET", f"/api/runs/{escape}/files/outputs/secret.txt"),
        ("GET", f"/api/runs/{run_a}/files/{escape}/files/outputs/secret.txt"),
        ("PUT", f"/api/runs/{run_a}/files/{escape}/files/outputs/planted.txt"),
        ("GET", f"/api/snapshots/{world['snap_b']}"),
        ("GET", f"/api/snapshots/{world['snap_b']}/files/keys.py"),
        ("GET", f"/api/blobs/{blob}"),
    ]
    for method, path in attempts:
        body = b'{"tags": {"k": "v"}}' if method == "PATCH" else b"planted"
        status, text = raw_request(url, method, path, None if method == "GET" else body)
        assert status in (400, 404), (method, path, status, text[:300])
        assert SECRET not in text, (method, path)
    assert files_under(world["base"]) == before
    assert world["b"].store.get_run(run_b).tags == {}
    assert not list(b_root.rglob("planted*"))


def test_a_submitted_runs_definition_cannot_point_its_runner_outside(tmp_path: Path) -> None:
    """The run's script path comes from its definition: one that climbs out of the
    snapshot (edited in the store, or sent over the API) is refused by the runner,
    which starts nothing."""
    ws = Workspace.create(tmp_path / "ws", name="escape")
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print('fine')\n")
    (tmp_path / "evil.py").write_text("open('PWNED', 'w').write('x')\n")
    try:
        run = Experiment(ws, "e").submit(
            ScriptRunConfig(source_directory=str(src), script="train.py")
        )
        run.wait_for_completion(raise_on_error=False, timeout=60)
        from runyard.targets import get_dispatcher

        bad = ws.store.create_run(
            run.info.experiment_id,
            kind=RunKind.SUBMITTED,
            status=RunStatus.QUEUED,
            definition=dict(run.info.definition, script="../../../../../evil.py"),
        )
        target = ws.compute_target_config("local")
        get_dispatcher(target).dispatch(ws.store, ws.config_path, target)
        wait_for(lambda: ws.store.get_run(bad.run_id).status.is_terminal(), 60, "the run to end")
        info = ws.store.get_run(bad.run_id)
        assert info.status is RunStatus.FAILED, info
        assert "must be relative and stay inside" in (info.error or ""), info.error
        assert not list(tmp_path.rglob("PWNED"))
    finally:
        ws.close()


def test_nothing_listens_beyond_loopback(world: dict[str, Any]) -> None:
    """The servers these tests started (all in this process) listen on 127.0.0.1."""
    server: RunningServer = world["server"]
    addresses = {
        c.laddr.ip
        for c in psutil.Process(os.getpid()).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }
    assert addresses <= {"127.0.0.1"} and server.port
