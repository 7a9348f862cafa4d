"""The studio's Rerun button: ``POST /api/runs/{id}/rerun`` over a real uvicorn server
given the function ``runyard studio`` gives it (``runyard runs rerun`` in a real
workspace: a real runner starts the new run), and the button in headless Chromium."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runyard.cli.studio import rerun_in
from runyard.core import Experiment, ScriptRunConfig, Workspace
from runyard.entities import RunKind, RunStatus
from runyard.server import create_app
from tests.support.server import RunningServer, start_server

CHROMIUM = "/usr/bin/chromium"
TOKEN = "rerun-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SCRIPT = """
import sys
from runyard.core import Run
Run.get_context().log("arg", float(sys.argv[1]))
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("rerun")
    return Workspace.create(root / "ws", name="ws")


@pytest.fixture(scope="module")
def finished(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A submitted run (default environment: this interpreter) that has completed."""
    src = tmp_path_factory.mktemp("rerun-src")
    (src / "arg.py").write_text(SCRIPT)
    config = ScriptRunConfig(source_directory=str(src), script="arg.py", arguments=[7])
    run = Experiment(ws, "rerun").submit(config)
    run.wait_for_completion(timeout=180)
    return run.id


@pytest.fixture(scope="module")
def server(ws: Workspace) -> Iterator[RunningServer]:
    srv = start_server(create_app(ws.store, token=TOKEN, rerun=rerun_in(ws)))
    yield srv
    srv.stop()


def wait_completed(ws: Workspace, run_id: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while (status := ws.store.get_run(run_id).status) is not RunStatus.COMPLETED:
        assert not status.is_terminal(), f"the rerun {run_id} ended {status.value}"
        assert time.monotonic() < deadline, f"the rerun {run_id} is still {status.value}"
        time.sleep(0.2)


def test_rerun_over_http(ws: Workspace, finished: str, server: RunningServer) -> None:
    resp = httpx.post(f"{server.url}/api/runs/{finished}/rerun", headers=AUTH, timeout=60)
    assert resp.status_code == 201, resp.text
    new = resp.json()
    assert new["run_id"] != finished and new["properties"]["rerun_of"] == finished
    wait_completed(ws, new["run_id"])
    arg = ws.store.get_metric_summaries(new["run_id"])["arg"]
    assert arg.last == 7.0  # the same arguments


def test_rerun_errors_say_why(ws: Workspace, server: RunningServer) -> None:
    url = server.url
    assert httpx.post(f"{url}/api/runs/nope/rerun", headers=AUTH).status_code == 404
    exp = ws.store.get_or_create_experiment("rerun-interactive")
    tracked = ws.store.create_run(
        exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.COMPLETED
    )
    refused = httpx.post(f"{url}/api/runs/{tracked.run_id}/rerun", headers=AUTH)
    assert refused.status_code >= 400
    assert "was not submitted, so it cannot be rerun" in refused.json()["error"]["message"]
    assert httpx.post(f"{url}/api/runs/{tracked.run_id}/rerun").status_code == 401
    # A studio given no rerun function (an app built on a bare store) says so.
    bare = start_server(create_app(ws.store, token=TOKEN))
    try:
        resp = httpx.post(f"{bare.url}/api/runs/{tracked.run_id}/rerun", headers=AUTH)
    finally:
        bare.stop()
    assert resp.status_code == 404
    assert "cannot rerun runs" in resp.json()["error"]["message"]


browser_only = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="needs Debian's chromium at /usr/bin/chromium",
)


@browser_only
@pytest.mark.browser
def test_rerun_button_goes_to_the_new_run(
    ws: Workspace, finished: str, server: RunningServer
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.set_default_timeout(60_000)
            page.goto(f"{server.url}/?token={TOKEN}")
            page.goto(f"{server.url}/runs/{finished}")
            expect(page.locator("#cancel-run")).to_be_hidden()
            page.click("#rerun-run")
            page.wait_for_url(lambda url: "/runs/" in url and finished not in url)
            new_id = page.url.rsplit("/", 1)[-1]
            assert ws.store.get_run(new_id).properties["rerun_of"] == finished
            # The new run's page follows it to its end, then offers Rerun in turn.
            expect(page.locator("#run-status")).to_have_text("Completed", timeout=180_000)
            expect(page.locator("#rerun-run")).to_be_visible()
            assert errors == [], f"script errors on the page: {errors}"
        finally:
            browser.close()


@browser_only
@pytest.mark.browser
def test_no_rerun_button_on_an_active_or_interactive_run(
    ws: Workspace, server: RunningServer
) -> None:
    from playwright.sync_api import expect, sync_playwright

    exp = ws.store.get_or_create_experiment("rerun-interactive")
    active = ws.store.create_run(
        exp.experiment_id, kind=RunKind.SUBMITTED, status=RunStatus.RUNNING
    )
    tracked = ws.store.create_run(
        exp.experiment_id, kind=RunKind.INTERACTIVE, status=RunStatus.COMPLETED
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(f"{server.url}/runs/{tracked.run_id}")
            expect(page.locator("#run-status")).to_have_text("Completed")
            expect(page.locator("#rerun-run")).to_be_hidden()
            page.goto(f"{server.url}/runs/{active.run_id}")
            expect(page.locator("#rerun-run")).to_be_hidden()
            ws.store.set_status(active.run_id, RunStatus.FAILED)  # it ends: now it may rerun
            expect(page.locator("#run-status")).to_have_text("Failed")
            expect(page.locator("#rerun-run")).to_be_visible()
        finally:
            browser.close()
