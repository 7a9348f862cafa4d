"""Studio actions in real headless Chromium against a real uvicorn server and SQL
store: cancel, tag editing and removal, single-point markers, error pages with navigation; and
the routes behind them (``/api/session``, ``/go``) over HTTP."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runyard.entities import MetricColumns, RunInfo, RunKind, RunStatus
from runyard.errors import RunNotFoundError, ValidationError
from runyard.server import create_app
from runyard.store.base import Store
from tests.support.server import RunningServer, open_test_store, start_server

CHROMIUM = "/usr/bin/chromium"
TOKEN = "actions-token"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_test_store(tmp_path_factory.mktemp("actions"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[RunningServer]:
    app = create_app(store, token=TOKEN, workspace_name="actions-ws")

    def boom() -> None:
        raise RuntimeError("an unexpected failure inside a page")

    # A page that fails unexpectedly, to see the 500 page (the real app, one more route).
    app.add_api_route("/boom", boom, include_in_schema=False)
    srv = start_server(app)
    yield srv
    srv.stop()


def make_run(store: Store, experiment: str, **kwargs: Any) -> RunInfo:
    exp = store.get_or_create_experiment(experiment)
    kwargs.setdefault("kind", RunKind.SUBMITTED)
    kwargs.setdefault("status", RunStatus.RUNNING)
    return store.create_run(exp.experiment_id, **kwargs)


# -- over HTTP ----------------------------------------------------------------------------


def test_session_gives_the_token_only_to_a_request_that_showed_it(server: RunningServer) -> None:
    assert httpx.get(f"{server.url}/api/session").json() == {"write_token": None}
    with httpx.Client(base_url=server.url) as client:
        # ?token= on a page sets the cookie; from then on the page may learn the token.
        assert client.get(f"/?token={TOKEN}", follow_redirects=True).status_code == 200
        assert client.get("/api/session").json() == {"write_token": TOKEN}
    wrong = httpx.get(f"{server.url}/api/session", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_go_finds_runs_and_experiments(store: Store, server: RunningServer) -> None:
    run = make_run(store, "actions-go")
    found = httpx.get(f"{server.url}/go", params={"q": run.run_id})
    assert found.status_code == 303 and found.headers["location"] == f"/runs/{run.run_id}"
    by_name = httpx.get(f"{server.url}/go", params={"q": "actions-go"})
    assert by_name.headers["location"] == f"/experiments/{run.experiment_id}"
    missing = httpx.get(f"{server.url}/go", params={"q": "no-such-thing"})
    assert missing.status_code == 404
    assert "no experiment is called &#39;no-such-thing&#39;" in missing.text
    assert 'action="/go"' in missing.text  # the 404 page has the search box again


def test_api_errors_stay_json_and_pages_get_the_layout(server: RunningServer) -> None:
    api = httpx.get(f"{server.url}/api/runs/nope")
    assert api.status_code == 404
    assert api.json()["error"]["type"] == "RunNotFoundError"
    page = httpx.get(f"{server.url}/runs/nope")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert 'class="topbar"' in page.text and "no run with id &#39;nope&#39;" in page.text
    boom = httpx.get(f"{server.url}/boom")
    assert boom.status_code == 500 and "Back to the experiments" in boom.text
    assert "unexpected failure" not in boom.text  # nothing of the exception leaves


# -- in Chromium ----------------------------------------------------------------------------

browser_only = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="needs Debian's chromium at /usr/bin/chromium",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: RunningServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.set_default_timeout(15_000)
    pg.goto(f"{server.url}/?token={TOKEN}")  # sets the cookie, as the printed URL does
    yield pg
    context.close()
    assert errors == [], f"script errors on the page: {errors}"
    assert dialogs == [], f"a native dialog fired: {dialogs}"


@browser_only
@pytest.mark.browser
def test_cancel_a_queued_run(store: Store, server: RunningServer, page: Any) -> None:
    from playwright.sync_api import expect

    run = make_run(store, "actions-cancel", status=RunStatus.QUEUED)
    page.goto(f"{server.url}/runs/{run.run_id}")
    page.click("#cancel-run")
    expect(page.locator("#cancel-confirm")).to_be_visible()
    page.click("#cancel-no")  # changing one's mind changes nothing
    assert store.get_run(run.run_id).status is RunStatus.QUEUED
    page.click("#cancel-run")
    page.click("#cancel-yes")
    expect(page.locator("#run-status")).to_have_text("Canceled")
    expect(page.locator("#cancel-run")).to_be_hidden()
    assert store.get_run(run.run_id).status is RunStatus.CANCELED


@browser_only
@pytest.mark.browser
def test_cancel_a_running_run_waits_for_its_runner(
    store: Store, server: RunningServer, page: Any
) -> None:
    from playwright.sync_api import expect

    run = make_run(store, "actions-cancel")
    page.goto(f"{server.url}/runs/{run.run_id}")
    page.click("#cancel-run")
    page.click("#cancel-yes")
    expect(page.locator("#action-note")).to_contain_text("cancel requested")
    deadline = time.monotonic() + 15
    while store.get_run(run.run_id).cancel_requested_at is None:
        assert time.monotonic() < deadline, "the cancel request never reached the store"
        time.sleep(0.05)
    store.set_status(run.run_id, RunStatus.CANCELED)  # what the runner does on SIGTERM
    expect(page.locator("#run-status")).to_have_text("Canceled")
    expect(page.locator("#action-note")).to_have_text("")


@browser_only
@pytest.mark.browser
def test_a_run_that_ends_by_itself_loses_its_cancel_button(
    store: Store, server: RunningServer, page: Any
) -> None:
    from playwright.sync_api import expect

    run = make_run(store, "actions-cancel")
    page.goto(f"{server.url}/runs/{run.run_id}")
    expect(page.locator("#cancel-run")).to_be_visible()
    store.set_status(run.run_id, RunStatus.COMPLETED)
    expect(page.locator("#run-status")).to_have_text("Completed")
    expect(page.locator("#cancel-run")).to_be_hidden()


@browser_only
@pytest.mark.browser
def test_edit_tags_with_inline_errors(store: Store, server: RunningServer, page: Any) -> None:
    from playwright.sync_api import expect

    run = make_run(store, "actions-tags", tags={"keep": "1"})
    page.goto(f"{server.url}/runs/{run.run_id}")
    page.fill("#tag-input", "team=vision")
    page.click("#tag-add")
    expect(page.locator("#run-tags")).to_contain_text("team: vision")
    page.fill("#tag-input", "team=nlp")  # changing a tag is setting it again
    page.click("#tag-add")
    expect(page.locator("#run-tags")).to_contain_text("team: nlp")
    assert store.get_run(run.run_id).tags == {"keep": "1", "team": "nlp"}
    page.fill("#tag-input", "novalue")
    page.click("#tag-add")
    expect(page.locator("#action-error")).to_contain_text("KEY=VALUE")
    page.fill("#tag-input", "x" * 300 + "=1")  # the store's own check, shown inline
    page.click("#tag-add")
    expect(page.locator("#action-error")).to_contain_text("could not set tag")
    assert store.get_run(run.run_id).tags == {"keep": "1", "team": "nlp"}


def test_remove_tags_on_the_sql_store(store: Store) -> None:
    run = make_run(store, "actions-untag", tags={"a": "1", "b": "2"})
    store.remove_tags(run.run_id, ["a", "a", "not-there"])
    assert store.get_run(run.run_id).tags == {"b": "2"}
    with pytest.raises(ValidationError, match="list of tag names"):
        store.remove_tags(run.run_id, "b")  # a str is a Sequence[str] too
    with pytest.raises(ValidationError, match="tag name must be a string"):
        store.remove_tags(run.run_id, ["b", 3])  # type: ignore[list-item]
    with pytest.raises(RunNotFoundError):
        store.remove_tags("no-such-run", ["b"])
    assert store.get_run(run.run_id).tags == {"b": "2"}  # a refused call removed nothing


@browser_only
@pytest.mark.browser
def test_remove_a_tag_with_its_button(store: Store, server: RunningServer, page: Any) -> None:
    from playwright.sync_api import expect

    run = make_run(store, "actions-untag", tags={"keep": "1", "drop": "2"})
    page.goto(f"{server.url}/runs/{run.run_id}")
    page.click('#run-tags .tag[data-key="drop"] .tag-remove')
    expect(page.locator("#action-note")).to_have_text("tag drop removed")
    expect(page.locator("#run-tags")).not_to_contain_text("drop")
    expect(page.locator("#run-tags")).to_contain_text("keep: 1")
    assert store.get_run(run.run_id).tags == {"keep": "1"}
    page.click('#run-tags .tag[data-key="keep"] .tag-remove')
    expect(page.locator("#run-tags")).to_have_text("none")
    assert store.get_run(run.run_id).tags == {}
    # A tag set from the page gets its remove button too.
    page.fill("#tag-input", "late=3")
    page.click("#tag-add")
    expect(page.locator('#run-tags .tag[data-key="late"] .tag-remove')).to_be_visible()


@browser_only
@pytest.mark.browser
def test_without_the_token_the_page_is_read_only(
    store: Store, server: RunningServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    run = make_run(store, "actions-readonly", tags={"t": "1"})
    context = browser.new_context()
    try:
        pg = context.new_page()
        pg.goto(f"{server.url}/runs/{run.run_id}")
        expect(pg.locator("#action-note")).to_contain_text("read-only")
        pg.fill("#tag-input", "a=b")
        pg.click("#tag-add")
        expect(pg.locator("#action-error")).to_contain_text("access token")
        expect(pg.locator("#run-tags")).to_contain_text("t: 1")
        expect(pg.locator("#run-tags .tag-remove")).to_have_count(0)  # nothing to click
    finally:
        context.close()
    assert store.get_run(run.run_id).tags == {"t": "1"}


@browser_only
@pytest.mark.browser
def test_a_single_point_metric_is_drawn_as_a_marker(
    store: Store, server: RunningServer, page: Any
) -> None:
    run = make_run(store, "actions-marker")
    point = MetricColumns("final_acc", "float", [0], [time.time()], [0.9])
    store.append_metrics(run.run_id, [point])
    store.set_status(run.run_id, RunStatus.COMPLETED)
    page.goto(f"{server.url}/runs/{run.run_id}#metrics")
    page.wait_for_selector('#charts [data-key="final_acc"][data-points="1"] canvas')
    # Coloured (not grey) pixels on the canvas: axes and grid are grey, the marker is not.
    script = """(sel) => new Promise((resolve) => requestAnimationFrame(() => {
        const c = document.querySelector(sel);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
          const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
          if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
        }
        resolve(n);
    }))"""
    sel = '#charts [data-key="final_acc"] canvas'
    coloured = page.evaluate(script, sel)
    assert coloured > 10, f"the lone point drew {coloured} coloured pixels"


@browser_only
@pytest.mark.browser
def test_error_page_navigation(store: Store, server: RunningServer, page: Any) -> None:
    from playwright.sync_api import expect

    exp = store.get_or_create_experiment("actions-found")
    resp = page.goto(f"{server.url}/runs/no-such-run")
    assert resp is not None and resp.status == 404
    expect(page.locator("#error-page")).to_contain_text("no run with id 'no-such-run'")
    page.fill("#error-search input[name=q]", "actions-found")
    page.click("#error-search button")
    page.wait_for_url(f"{server.url}/experiments/{exp.experiment_id}")
    page.goto(f"{server.url}/experiments/nope")
    page.click("#back-to-experiments")
    page.wait_for_url(f"{server.url}/")
    expect(page.locator("h1")).to_have_text("Experiments")


@browser_only
@pytest.mark.browser
def test_delete_a_run_then_undo(store: Store, server: RunningServer, page: Any) -> None:
    from playwright.sync_api import expect

    live = make_run(store, "actions-delete")
    page.goto(f"{server.url}/runs/{live.run_id}")
    expect(page.locator("#delete-run")).to_be_hidden()  # only an ended run is deleted
    store.set_status(live.run_id, RunStatus.COMPLETED)
    page.reload()
    page.click("#delete-run")
    expect(page.locator("#deleted-banner")).to_be_visible()
    expect(page.locator("#delete-run")).to_be_hidden()
    assert store.get_run(live.run_id).deleted_at is not None
    experiment = store.get_run(live.run_id).experiment_id
    page.goto(f"{server.url}/experiments/{experiment}")
    expect(page.locator(f"tr[data-run-id='{live.run_id}']")).to_have_count(0)
    page.goto(f"{server.url}/runs/{live.run_id}")  # the page still opens, and says so
    expect(page.locator("#deleted-banner")).to_be_visible()
    page.click("#restore-run")
    expect(page.locator("#deleted-banner")).to_be_hidden()
    expect(page.locator("#delete-run")).to_be_visible()
    assert store.get_run(live.run_id).deleted_at is None


@browser_only
@pytest.mark.browser
def test_delete_an_experiment_then_undo(store: Store, server: RunningServer, page: Any) -> None:
    from playwright.sync_api import expect

    run = make_run(store, "actions-delete-exp", status=RunStatus.COMPLETED)
    page.goto(f"{server.url}/experiments/{run.experiment_id}")
    page.click("#delete-experiment")
    expect(page.locator("#experiment-deleted")).to_be_visible()
    assert store.get_experiment(run.experiment_id).deleted_at is not None
    page.goto(f"{server.url}/")
    expect(page.get_by_role("link", name="actions-delete-exp")).to_have_count(0)
    page.goto(f"{server.url}/experiments/{run.experiment_id}")
    expect(page.locator(f"tr[data-run-id='{run.run_id}']")).to_have_count(1)  # still listed here
    page.click("#restore-experiment")
    expect(page.locator("#experiment-deleted")).to_be_hidden()
    assert store.get_experiment(run.experiment_id).deleted_at is None
    page.goto(f"{server.url}/")
    expect(page.get_by_role("link", name="actions-delete-exp")).to_have_count(1)
